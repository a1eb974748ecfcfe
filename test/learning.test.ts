// Learning from every outcome (docs/contract.md §13): a committed answer whose body then breaks or stalls is
// its model's failure (breaker, sticky rotation); only a body that completes is a success; a client's cancel
// counts for nothing; a model much slower than its own baseline goes behind the healthy ones and comes back
// when a recheck answers fast; and the fleet-wide metrics show how streams ended and how long they took.
import { env } from "cloudflare:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it, vi } from "vitest";
import type { OutcomeReport } from "../src/core/outcome.ts";
import { controlPlaneStub } from "../src/state/control-plane.ts";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, callRouterWith, forgetCachedView, settle } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { calledModels, serveUpstream, sseEvents, status, streamBody } from "./support/upstream.ts";

const [ALPHA, BETA] = HEALTHY_RANKING as [string, string];
const stub = useRoutingFixture();

let clients = 0;
/** A new client each test, so stickiness carries over only within a test. */
function newClient(): Record<string, string> {
  clients += 1;
  return { authorization: `Bearer cpk_learning_client_${clients}` };
}

function streamRequest(client: Record<string, string>): RequestInit {
  return chatRequest({ model: "chutesai/AutoPilot", stream: true, messages: MESSAGES }, client);
}

/** Sends one streamed alias request, reads the whole answer, flushes the reports; the models called. */
async function streamOnce(client: Record<string, string>): Promise<string[]> {
  stub().calls.length = 0;
  const response = await callRouter("/v1/chat/completions", streamRequest(client));
  await response.text();
  await settle();
  return calledModels(stub());
}

async function breakerFailures(model: string): Promise<number> {
  forgetCachedView();
  const view = await controlPlaneStub(env).getView();
  return view.breakers[model]?.consecutiveFailures ?? 0;
}

const BROKEN_AFTER_FIRST_CHUNK = () => streamBody(sseEvents(ALPHA, 3).slice(0, 1), "error").behavior;

describe("post-commit outcomes", () => {
  it("counts a stream that breaks after its first chunk against its model's breaker, until the breaker opens", async () => {
    serveUpstream(stub(), { [ALPHA]: BROKEN_AFTER_FIRST_CHUNK() });
    for (let i = 1; i <= 3; i++) {
      expect(await streamOnce(newClient())).toEqual([ALPHA]);
      expect(await breakerFailures(ALPHA)).toBe(i);
    }
    expect(await streamOnce(newClient())).toEqual([BETA]);
  });

  it("counts a stream that stalls past the idle timeout the same way", async () => {
    serveUpstream(stub(), { [ALPHA]: streamBody(sseEvents(ALPHA, 3).slice(0, 1), "stall").behavior });
    await streamOnce(newClient());
    expect(await breakerFailures(ALPHA)).toBe(1);
  });

  it("moves a sticky client off a model whose stream broke, to the next candidate", async () => {
    const client = newClient();
    serveUpstream(stub(), {});
    expect(await streamOnce(client)).toEqual([ALPHA]);
    serveUpstream(stub(), { [ALPHA]: BROKEN_AFTER_FIRST_CHUNK() });
    expect(await streamOnce(client)).toEqual([ALPHA]);
    serveUpstream(stub(), {});
    expect(await streamOnce(client)).toEqual([BETA]);
    expect(await streamOnce(client)).toEqual([BETA]);
  });

  it("resets the breaker only when a body completes, not when it merely committed", async () => {
    serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
    await streamOnce(newClient());
    await streamOnce(newClient());
    expect(await breakerFailures(ALPHA)).toBe(2);
    const stalled = streamBody(sseEvents(ALPHA, 3).slice(0, 1), "stall");
    serveUpstream(stub(), { [ALPHA]: stalled.behavior });
    // The client reads the first chunk and goes away: neither a success nor a failure.
    const response = await callRouter("/v1/chat/completions", streamRequest(newClient()));
    const reader = response.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    // The cancel reaches the relay, and through it the upstream, a moment after the client's own cancel.
    await vi.waitFor(() => expect(stalled.cancels()).toBe(1), { timeout: 2000, interval: 10 });
    await settle();
    expect(await breakerFailures(ALPHA)).toBe(2);
    serveUpstream(stub(), {});
    await streamOnce(newClient());
    expect(await breakerFailures(ALPHA)).toBe(0);
  });

  it("shows how streams ended and how long they took, per model, in /metrics", async () => {
    serveUpstream(stub(), { [ALPHA]: BROKEN_AFTER_FIRST_CHUNK() });
    await streamOnce(newClient());
    serveUpstream(stub(), {});
    await streamOnce(newClient());
    await streamOnce(newClient());
    const text = await (await callRouter("/metrics")).text();
    const families = parsePrometheusTextFormat(text);
    const ends = families
      .find((f) => f.name === "chutes_autopilot_stream_end_total")
      ?.metrics.map((m) => [m.labels?.model, m.labels?.end, m.value]);
    expect(ends).toEqual(
      expect.arrayContaining([
        [ALPHA, "upstream_error", "1"],
        [ALPHA, "complete", "2"],
      ]),
    );
    // Histograms are read from the text: the parser drops their labels.
    expect(text).toContain("# TYPE chutes_autopilot_ttfb_seconds histogram");
    expect(text).toContain("# TYPE chutes_autopilot_request_duration_seconds histogram");
    const sample = (line: string) =>
      text
        .split("\n")
        .find((l) => l.startsWith(line))
        ?.split(" ")
        .at(-1);
    expect(sample(`chutes_autopilot_ttfb_seconds_bucket{model="${ALPHA}",le="+Inf"}`)).toBe("3");
    expect(sample(`chutes_autopilot_ttfb_seconds_count{model="${ALPHA}"}`)).toBe("3");
    expect(sample(`chutes_autopilot_request_duration_seconds_count{model="${ALPHA}"}`)).toBe("3");
    expect(Number(sample(`chutes_autopilot_ttfb_seconds_sum{model="${ALPHA}"}`))).toBeGreaterThanOrEqual(0);
  });
});

/** Reports `count` streamed answers of `model` with this time to first byte straight to the control plane. */
async function reportAnswers(model: string, ttfbMs: number, count: number): Promise<void> {
  const report: OutcomeReport = {
    status: 200,
    selected: model,
    attempts: [{ model, outcome: "committed", reason: null, status: 200, ms: ttfbMs }],
    stream: { end: "complete", ttfbMs, durationMs: ttfbMs + 100, eventStream: true },
    usage: null,
  };
  await controlPlaneStub(env).reportOutcomes(Array.from({ length: count }, () => report));
  forgetCachedView();
}

describe("degraded models", () => {
  it("keeps the ranking's order while every model answers at its usual speed", async () => {
    await reportAnswers(ALPHA, 500, 20);
    serveUpstream(stub(), {});
    expect(await streamOnce(newClient())).toEqual([ALPHA]);
  });

  it("moves a model much slower than its own baseline behind the healthy ones, and its sticky clients with it", async () => {
    const client = newClient();
    serveUpstream(stub(), {});
    expect(await streamOnce(client)).toEqual([ALPHA]);
    await reportAnswers(ALPHA, 500, 20);
    await reportAnswers(ALPHA, 9000, 3);
    const status = (await (
      await callRouter("/status", { headers: { accept: "application/json" } })
    ).json()) as {
      candidates: Array<{ name: string; health: string; recentTtfbMs: number }>;
    };
    expect(status.candidates.find((c) => c.name === ALPHA)).toMatchObject({
      health: "degraded",
      recentTtfbMs: 9000,
    });
    expect(await streamOnce(client)).toEqual([BETA]);
    expect(await streamOnce(newClient())).toEqual([BETA]);
  });

  it("tries a degraded model again after the recheck time and keeps it when it answers fast", async () => {
    await reportAnswers(ALPHA, 500, 20);
    await reportAnswers(ALPHA, 9000, 3);
    serveUpstream(stub(), { [ALPHA]: streamBody(sseEvents(ALPHA, 3), "close").behavior });
    // BREAKER_COOLDOWN_MS is also the recheck time: at 0 the recheck is due at once.
    stub().calls.length = 0;
    const ask = () =>
      callRouterWith({ BREAKER_COOLDOWN_MS: "0" }, "/v1/chat/completions", streamRequest(newClient()));
    await (await ask()).text();
    expect(calledModels(stub())).toEqual([ALPHA]);
    // That request's report is flushed by its own (differently configured) isolate state, 50 ms later.
    await vi.waitFor(
      async () => {
        forgetCachedView();
        expect((await controlPlaneStub(env).getView()).health[ALPHA]?.degraded).toBe(false);
      },
      { timeout: 2000, interval: 20 },
    );
  });

  it("never reorders when SLOW_MODEL_FACTOR is 0", async () => {
    await reportAnswers(ALPHA, 500, 20);
    await reportAnswers(ALPHA, 9000, 3);
    serveUpstream(stub(), {});
    stub().calls.length = 0;
    await (
      await callRouterWith({ SLOW_MODEL_FACTOR: "0" }, "/v1/chat/completions", streamRequest(newClient()))
    ).text();
    expect(calledModels(stub())).toEqual([ALPHA]);
  });
});
