// Direct mode's retries (docs/contract.md §19): a retryable failure before commit is tried again on the same
// model with jittered backoff, so a burst of 503s ("no instances available (yet)") or a dropped connection is
// survived within DIRECT_RETRY_BUDGET_MS; a client-class answer is never retried, and alias and list modes
// move on to the next model instead, as before. The waits themselves are core/direct-retry.test.ts's.
import { describe, expect, it } from "vitest";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouterWith } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import {
  type Behavior,
  calledModels,
  connectError,
  healthyJson,
  serveUpstream,
  status,
  USER_429_BODY,
} from "./support/upstream.ts";

const [ALPHA, BETA] = HEALTHY_RANKING as [string, string];
const stub = useRoutingFixture();
const RETRIES = { DIRECT_RETRY_BASE_MS: "5", DIRECT_RETRY_BUDGET_MS: "2000" };
const NO_INSTANCES = '{"detail":"No instances available (yet) for chute_id=c-alpha"}';

/** Answers with each behaviour in turn, then healthy. */
function inTurn(...behaviors: Behavior[]): Behavior {
  let call = 0;
  return (request) => (behaviors[call++] ?? healthyJson())(request);
}

const ask = (model: string, vars: Record<string, string> = RETRIES) =>
  callRouterWith(vars, "/v1/chat/completions", chatRequest({ model, messages: MESSAGES }));

describe("direct mode retries its model", () => {
  it("survives a burst of 503s and a dropped connection, answering from the same model", async () => {
    const burst = status(503, NO_INSTANCES);
    serveUpstream(stub(), { [ALPHA]: inTurn(burst, connectError, burst) });
    const response = await ask(ALPHA);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { model: string }).model).toBe(ALPHA);
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("4");
    expect(calledModels(stub())).toEqual([ALPHA, ALPHA, ALPHA, ALPHA]);
  });

  it("gives the last 503 back once MAX_ATTEMPTS are spent", async () => {
    serveUpstream(stub(), { [ALPHA]: status(503, NO_INSTANCES) });
    const response = await ask(ALPHA, { ...RETRIES, MAX_ATTEMPTS: "3" });
    expect(response.status).toBe(503);
    expect(await response.text()).toBe(NO_INSTANCES);
    expect(calledModels(stub())).toEqual([ALPHA, ALPHA, ALPHA]);
  });

  it("retries after a retry-after within the budget, and not when it is past the budget", async () => {
    const later =
      (seconds: string): Behavior =>
      () =>
        new Response(NO_INSTANCES, {
          status: 503,
          headers: { "content-type": "application/json", "retry-after": seconds },
        });
    serveUpstream(stub(), { [ALPHA]: inTurn(later("0.2")) });
    expect((await ask(ALPHA)).status).toBe(200);
    expect(calledModels(stub())).toHaveLength(2);

    stub().calls.length = 0;
    serveUpstream(stub(), { [ALPHA]: inTurn(later("30")) });
    const refused = await ask(ALPHA);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("30");
    expect(calledModels(stub())).toHaveLength(1);
  });

  it.each([
    ["a user's 429", status(429, USER_429_BODY)],
    ["a 401", status(401, '{"detail":"Invalid token."}')],
    ["a 400", status(400, '{"detail":"bad request"}')],
  ])("never retries %s: it is the client's to handle", async (_, behavior) => {
    serveUpstream(stub(), { [ALPHA]: behavior });
    const response = await ask(ALPHA);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(calledModels(stub())).toEqual([ALPHA]);
  });

  it("is off with DIRECT_RETRY_BUDGET_MS=0, and alias mode moves on to another model instead", async () => {
    serveUpstream(stub(), { [ALPHA]: status(503, NO_INSTANCES) });
    expect((await ask(ALPHA, { ...RETRIES, DIRECT_RETRY_BUDGET_MS: "0" })).status).toBe(503);
    expect(calledModels(stub())).toEqual([ALPHA]);

    stub().calls.length = 0;
    const alias = await ask("chutesai/AutoPilot");
    expect(alias.status).toBe(200);
    expect(calledModels(stub())).toEqual([ALPHA, BETA]);
  });
});
