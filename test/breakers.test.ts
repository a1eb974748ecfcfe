// Circuit breakers, fleet-wide in the control-plane object (docs/contract.md §4, §7): BREAKER_FAILURE_THRESHOLD consecutive
// retryable failures open a model's breaker, open models are tried only after every closed one, and after
// BREAKER_COOLDOWN_MS one probe decides between closed and open again.
import { afterEach, describe, expect, it, vi } from "vitest";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, settle } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { calledModels, serveUpstream, status } from "./support/upstream.ts";

const [ALPHA, BETA] = HEALTHY_RANKING as [string, string];
const stub = useRoutingFixture();
afterEach(() => {
  vi.useRealTimers();
});

async function askAlias(model = "chutesai/AutoPilot") {
  stub().calls.length = 0;
  const response = await callRouter("/v1/chat/completions", chatRequest({ model, messages: MESSAGES }));
  await response.text();
  await settle();
  return calledModels(stub());
}

async function breakerOf(model: string): Promise<string | undefined> {
  const response = await callRouter("/status", { headers: { accept: "application/json" } });
  const body = (await response.json()) as { candidates: Array<{ name: string; breaker: string }> };
  return body.candidates.find((c) => c.name === model)?.breaker;
}

async function openAlphaBreaker() {
  serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
  for (let i = 0; i < 3; i++) expect(await askAlias()).toEqual([ALPHA, BETA]);
  expect(await breakerOf(ALPHA)).toBe("open");
}

describe("circuit breakers", () => {
  it("opens after three consecutive retryable failures and then tries the model only after the others", async () => {
    await openAlphaBreaker();
    serveUpstream(stub(), {});
    expect(await askAlias()).toEqual([BETA]);
  });

  it("stays closed when a success breaks the run of failures", async () => {
    serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
    await askAlias();
    await askAlias();
    serveUpstream(stub(), {});
    await askAlias();
    serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
    await askAlias();
    await askAlias();
    expect(await breakerOf(ALPHA)).toBe("closed");
  });

  it("does not count pass-through answers such as a 400 as failures", async () => {
    serveUpstream(stub(), { [ALPHA]: status(400, '{"detail":"bad"}') });
    for (let i = 0; i < 4; i++) await askAlias();
    expect(await breakerOf(ALPHA)).toBe("closed");
  });

  it("still tries an open model when nothing else is left", async () => {
    await openAlphaBreaker();
    serveUpstream(stub(), {});
    expect(await askAlias(ALPHA)).toEqual([ALPHA]);
  });

  it("lets one probe through after the cooldown and closes again when it succeeds", async () => {
    await openAlphaBreaker();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 30_001);
    expect(await breakerOf(ALPHA)).toBe("half_open");
    serveUpstream(stub(), {});
    expect(await askAlias(`${ALPHA},${BETA}`)).toEqual([ALPHA]);
    expect(await breakerOf(ALPHA)).toBe("closed");
  });

  it("opens again for a full cooldown when the probe fails", async () => {
    await openAlphaBreaker();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 30_001);
    expect(await askAlias(`${ALPHA},${BETA}`)).toEqual([ALPHA, BETA]);
    expect(await breakerOf(ALPHA)).toBe("open");
    expect(await askAlias(`${ALPHA},${BETA}`)).toEqual([BETA]);
  });
});
