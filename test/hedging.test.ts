// Hedged first byte (docs/contract.md §13): with HEDGE_AFTER_MS set, an attempt with no content after that
// long gets one more attempt beside it on the next candidate; the first to send content wins, the other is
// cancelled at once, logged `hedge_lost` and not held against its breaker; never more than two attempts in
// flight, and never in direct mode.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { app } from "../src/app.ts";
import { controlPlaneStub } from "../src/state/control-plane.ts";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, callRouterWith, forgetCachedView, settleOutcomes } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { type Behavior, calledModels, serveUpstream, sseEvents, streamBody } from "./support/upstream.ts";

const [ALPHA, BETA, GAMMA_TEE] = HEALTHY_RANKING as [string, string, string];
const stub = useRoutingFixture();
const HEDGED = { HEDGE_AFTER_MS: "40" };

let log: MockInstance;
beforeEach(() => {
  log = vi.spyOn(console, "log");
});
afterEach(() => {
  log.mockRestore();
});

let clients = 0;
function streamRequest(model = "chutesai/AutoPilot"): RequestInit {
  clients += 1;
  return chatRequest(
    { model, stream: true, messages: MESSAGES },
    { authorization: `Bearer cpk_hedge_${clients}` },
  );
}

/** The attempts of the last request's log line. */
function loggedAttempts(): Array<{ model: string; outcome: string; hedge?: boolean }> {
  const lines = log.mock.calls
    .map(([line]) => (typeof line === "string" && line.startsWith("{") ? JSON.parse(line) : null))
    .filter((line) => line?.event === "request");
  return lines.at(-1)?.attempts ?? [];
}

/** An SSE stream that sends `prefix` at once and its content only after `delayMs` (or never). */
function contentAfter(
  model: string,
  delayMs: number | null,
  prefix = "",
): { behavior: Behavior; cancels: () => number } {
  let cancels = 0;
  const encoder = new TextEncoder();
  const behavior: Behavior = () =>
    new Response(
      new ReadableStream<Uint8Array>({
        async start(controller) {
          if (prefix) controller.enqueue(encoder.encode(prefix));
          if (delayMs === null) return;
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          for (const event of sseEvents(model, 2)) controller.enqueue(encoder.encode(event));
          controller.close();
        },
        cancel() {
          cancels += 1;
        },
      }),
      { status: 200, headers: { "content-type": "text/event-stream" } },
    );
  return { behavior, cancels: () => cancels };
}

async function breakerFailures(model: string): Promise<number> {
  forgetCachedView();
  return (await controlPlaneStub(env).getView()).breakers[model]?.consecutiveFailures ?? 0;
}

async function hedgeCounts(): Promise<Record<string, string>> {
  const families = parsePrometheusTextFormat(await (await callRouter("/metrics")).text());
  const hedges = families.find((f) => f.name === "chutes_autopilot_hedges_total");
  return Object.fromEntries((hedges?.metrics ?? []).map((m) => [m.labels?.result ?? "", m.value]));
}

describe("hedged first byte", () => {
  it("lets a hedge on the next candidate win when the first attempt is slow, and cancels the loser", async () => {
    const slow = contentAfter(ALPHA, null);
    serveUpstream(stub(), { [ALPHA]: slow.behavior, [BETA]: contentAfter(BETA, 0).behavior });
    const response = await callRouterWith(HEDGED, "/v1/chat/completions", streamRequest());
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(BETA);
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("2");
    expect(await response.text()).toContain(`"model":"${BETA}"`);
    expect(calledModels(stub())).toEqual([ALPHA, BETA]);
    expect(slow.cancels()).toBe(1);
    expect(loggedAttempts().map((a) => [a.model, a.outcome, a.hedge ?? false])).toEqual([
      [BETA, "committed", true],
      [ALPHA, "hedge_lost", false],
    ]);
    await vi.waitFor(async () => expect(await hedgeCounts()).toEqual({ won: "1" }), { timeout: 2000 });
    expect(await breakerFailures(ALPHA)).toBe(0);
  });

  it("keeps the first attempt when it sends content before the hedge does, and cancels the hedge", async () => {
    const hedge = contentAfter(BETA, null);
    serveUpstream(stub(), { [ALPHA]: contentAfter(ALPHA, 120).behavior, [BETA]: hedge.behavior });
    const response = await callRouterWith(HEDGED, "/v1/chat/completions", streamRequest());
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(ALPHA);
    await response.text();
    expect(hedge.cancels()).toBe(1);
    expect(loggedAttempts().map((a) => [a.model, a.outcome])).toEqual([
      [ALPHA, "committed"],
      [BETA, "hedge_lost"],
    ]);
    await vi.waitFor(async () => expect(await hedgeCounts()).toEqual({ lost: "1" }), { timeout: 2000 });
    expect(await breakerFailures(BETA)).toBe(0);
  });

  it.each([
    ["an SSE comment", ": keep-alive\n\n"],
    ["an error event", 'data: {"error":{"message":"busy"}}\n\n'],
    ["[DONE]", "data: [DONE]\n\n"],
    ["a role-only chunk", 'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'],
  ])("never lets %s win the race", async (_name, prefix) => {
    serveUpstream(stub(), {
      [ALPHA]: contentAfter(ALPHA, null, prefix).behavior,
      [BETA]: contentAfter(BETA, 100).behavior,
    });
    const response = await callRouterWith(HEDGED, "/v1/chat/completions", streamRequest());
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(BETA);
    expect((await response.text()).startsWith(sseEvents(BETA, 2)[0] as string)).toBe(true);
  });

  it("hands the winner's held bytes over whole: a keep-alive before its content reaches the client", async () => {
    serveUpstream(stub(), { [ALPHA]: contentAfter(ALPHA, 0, ": keep-alive\n\n").behavior });
    const response = await callRouterWith(HEDGED, "/v1/chat/completions", streamRequest());
    const text = await response.text();
    expect(text.startsWith(`: keep-alive\n\n${sseEvents(ALPHA, 2)[0]}`)).toBe(true);
  });

  it("never has more than two attempts in flight, however many candidates stall", async () => {
    let inFlight = 0;
    let most = 0;
    const stalls: Behavior = (request) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      return new Promise<Response>((_resolve, reject) => {
        request.signal.addEventListener("abort", () => {
          inFlight -= 1;
          reject(new DOMException("aborted", "AbortError"));
        });
      });
    };
    serveUpstream(stub(), { [ALPHA]: stalls, [BETA]: stalls, [GAMMA_TEE]: stalls });
    const response = await callRouterWith(HEDGED, "/v1/chat/completions", streamRequest());
    expect(response.status).toBe(504);
    expect(calledModels(stub())).toEqual([ALPHA, BETA, GAMMA_TEE]);
    expect(most).toBe(2);
    expect(inFlight).toBe(0);
  });

  it("cancels both attempts of a race when the client goes away, and fails over to nothing", async () => {
    const aborted: string[] = [];
    const stallUntilAborted =
      (model: string): Behavior =>
      (request) =>
        new Promise<Response>((_resolve, reject) => {
          request.signal.addEventListener("abort", () => {
            aborted.push(model);
            reject(new DOMException("aborted", "AbortError"));
          });
        });
    serveUpstream(stub(), { [ALPHA]: stallUntilAborted(ALPHA), [BETA]: stallUntilAborted(BETA) });
    const client = new AbortController();
    const ctx = createExecutionContext();
    const pending = app.fetch(
      new Request("http://router.test/v1/chat/completions", { ...streamRequest(), signal: client.signal }),
      { ...env, ...HEDGED },
      ctx,
    );
    await vi.waitFor(() => expect(calledModels(stub())).toEqual([ALPHA, BETA]), {
      timeout: 2000,
      interval: 5,
    });
    client.abort();
    const response = await pending;
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(499);
    expect(aborted.sort()).toEqual([ALPHA, BETA].sort());
    expect(loggedAttempts().map((a) => a.outcome)).toEqual(["cancelled", "cancelled"]);
    expect(calledModels(stub())).toEqual([ALPHA, BETA]);
  });

  it("never hedges in direct mode", async () => {
    serveUpstream(stub(), { [ALPHA]: contentAfter(ALPHA, 150).behavior });
    const response = await callRouterWith(HEDGED, "/v1/chat/completions", streamRequest(ALPHA));
    await response.text();
    expect(calledModels(stub())).toEqual([ALPHA]);
  });

  it("counts a hedged attempt toward MAX_ATTEMPTS", async () => {
    serveUpstream(stub(), {
      [ALPHA]: contentAfter(ALPHA, null).behavior,
      [BETA]: contentAfter(BETA, null).behavior,
    });
    const response = await callRouterWith(
      { ...HEDGED, MAX_ATTEMPTS: "2", UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "200" },
      "/v1/chat/completions",
      streamRequest(),
    );
    expect(response.status).toBe(504);
    expect(calledModels(stub())).toEqual([ALPHA, BETA]);
    await settleOutcomes();
  });

  it("relays exactly as before when HEDGE_AFTER_MS is 0: the first byte commits, even a comment", async () => {
    const events = streamBody([": keep-alive\n\n", ...sseEvents(ALPHA, 1)], "close");
    serveUpstream(stub(), { [ALPHA]: events.behavior });
    const response = await callRouter("/v1/chat/completions", streamRequest());
    expect((await response.text()).startsWith(": keep-alive\n\n")).toBe(true);
    expect(calledModels(stub())).toEqual([ALPHA]);
  });
});
