// After commit (docs/contract.md §7): the body streams through as it arrives, nothing is retried, a broken or stalled SSE
// stream ends with one upstream_stream_error event, a non-SSE body is aborted, and a client that goes away
// cancels the upstream request.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../src/app.ts";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, callRouterWith } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { calledModels, serveUpstream, sseEvents, streamBody } from "./support/upstream.ts";

const [ALPHA, BETA] = HEALTHY_RANKING as [string, string];
const stub = useRoutingFixture();

const STREAM_REQUEST = chatRequest({ model: "chutesai/AutoPilot", stream: true, messages: MESSAGES });

function lastEvent(text: string): string {
  const events = text.split("\n\n").filter((e) => e.trim() !== "");
  return events.at(-1) ?? "";
}

describe("after commit", () => {
  it("never retries once the first byte went out: a mid-stream reset ends with one SSE error event", async () => {
    const events = sseEvents(ALPHA, 3).slice(0, 2);
    serveUpstream(stub(), { [ALPHA]: streamBody(events, "error").behavior });
    const response = await callRouter("/v1/chat/completions", STREAM_REQUEST);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.startsWith(events.join(""))).toBe(true);
    const error = JSON.parse(lastEvent(text).replace(/^data: /, "")) as {
      error: { code: string; type: string };
    };
    expect(error.error.code).toBe("upstream_stream_error");
    expect(text.match(/upstream_stream_error/g)).toHaveLength(1);
    expect(text).not.toContain("[DONE]");
    expect(calledModels(stub())).toEqual([ALPHA]);
  });

  it("ends a stream that stalls past UPSTREAM_IDLE_TIMEOUT_MS with the error event, and cancels the upstream", async () => {
    const events = sseEvents(ALPHA, 3).slice(0, 2);
    const stalled = streamBody(events, "stall");
    serveUpstream(stub(), { [ALPHA]: stalled.behavior });
    const response = await callRouter("/v1/chat/completions", STREAM_REQUEST);
    const text = await response.text();
    expect(lastEvent(text)).toContain('"code":"upstream_stream_error"');
    expect(lastEvent(text)).toContain("stalled");
    expect(stalled.cancels()).toBe(1);
    expect(calledModels(stub())).toEqual([ALPHA]);
  });

  it("starts the error event on a fresh line when the stream broke mid-event", async () => {
    const first = sseEvents(ALPHA, 1)[0] as string;
    serveUpstream(stub(), { [ALPHA]: streamBody([first, 'data: {"partial":', "tr"], "error").behavior });
    const text = await (await callRouter("/v1/chat/completions", STREAM_REQUEST)).text();
    expect(text.startsWith(`${first}data: {"partial":tr\n\ndata: {"error":`)).toBe(true);
  });

  it("tries the next model when the stream breaks inside its first event, before anything was sent", async () => {
    serveUpstream(stub(), {
      [ALPHA]: streamBody(['data: {"partial":', "tr"], "error").behavior,
      [BETA]: streamBody(sseEvents(BETA, 2), "close").behavior,
    });
    const response = await callRouter("/v1/chat/completions", STREAM_REQUEST);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(BETA);
    expect(await response.text()).toBe(sseEvents(BETA, 2).join(""));
  });

  it("turns a bare JSON error that Chutes writes into a committed stream into the SSE error event", async () => {
    const events = sseEvents(ALPHA, 3).slice(0, 2);
    const bare = '{"error":"Unhandled exception during response stream: CUDA out of memory"}';
    serveUpstream(stub(), { [ALPHA]: streamBody([...events, bare], "close").behavior });
    const text = await (await callRouter("/v1/chat/completions", STREAM_REQUEST)).text();
    expect(text.startsWith(events.join("") + bare)).toBe(true);
    expect(lastEvent(text)).toContain('"code":"upstream_stream_error"');
  });

  it("leaves a stream that ends normally untouched", async () => {
    const events = sseEvents(ALPHA, 3);
    serveUpstream(stub(), { [ALPHA]: streamBody(events, "close").behavior });
    expect(await (await callRouter("/v1/chat/completions", STREAM_REQUEST)).text()).toBe(events.join(""));
  });

  it("aborts a non-SSE body that breaks after its first byte, so the client sees an error, not a clean end", async () => {
    serveUpstream(stub(), { [ALPHA]: streamBody(['{"id":"x","choi'], "error", "application/json").behavior });
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: "chutesai/AutoPilot", messages: MESSAGES }),
    );
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    expect(calledModels(stub())).toEqual([ALPHA]);
  });

  it("passes chunks on as they arrive, before the upstream has finished", async () => {
    const events = sseEvents(ALPHA, 2);
    serveUpstream(stub(), { [ALPHA]: streamBody(events.slice(0, 1), "stall").behavior });
    const response = await callRouter("/v1/chat/completions", STREAM_REQUEST);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe(events[0]);
    await reader.cancel();
  });

  it("cancels the upstream request when the client goes away mid-stream", async () => {
    const stalled = streamBody(sseEvents(ALPHA, 3).slice(0, 1), "stall");
    serveUpstream(stub(), { [ALPHA]: stalled.behavior, [BETA]: stalled.behavior });
    // A long idle timeout, so only the client's cancel can explain the upstream's.
    const response = await callRouterWith(
      { UPSTREAM_IDLE_TIMEOUT_MS: "60000" },
      "/v1/chat/completions",
      STREAM_REQUEST,
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(stalled.cancels()).toBe(0);
    await reader.cancel("client went away");
    await expect.poll(() => stalled.cancels(), { timeout: 1000 }).toBe(1);
  });
});

describe("before commit", () => {
  it("stops trying models when the client goes away while waiting for headers, and cancels that upstream request", async () => {
    let upstreamAborted = false;
    serveUpstream(stub(), {
      [ALPHA]: (request) =>
        new Promise<Response>((_resolve, reject) => {
          request.signal.addEventListener("abort", () => {
            upstreamAborted = true;
            reject(new DOMException("aborted", "AbortError"));
          });
        }),
    });
    const client = new AbortController();
    const init = { ...chatRequest({ model: `${ALPHA},${BETA}`, messages: MESSAGES }), signal: client.signal };
    const ctx = createExecutionContext();
    const pending = app.fetch(new Request("http://router.test/v1/chat/completions", init), env, ctx);
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.abort();
    const response = await pending;
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(499);
    expect(upstreamAborted).toBe(true);
    expect(calledModels(stub())).toEqual([ALPHA]);
  });
});
