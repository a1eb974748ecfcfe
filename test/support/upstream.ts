// Scriptable upstream for workerd tests: each model gets a behaviour that builds the Response (or failure) the
// router's fetch sees. Streams record whether the router cancelled them.
import { type FetchStub, jsonResponse, type StubHandler } from "./stub-fetch.ts";

export const UPSTREAM_CHAT_URL = "http://127.0.0.1:9/v1/chat/completions";
export const UPSTREAM_COMPLETIONS_URL = "http://127.0.0.1:9/v1/completions";

export type Behavior = StubHandler;

const encoder = new TextEncoder();

/** Routes upstream calls by the forwarded body's `model`; unlisted models answer healthy JSON. */
export function serveUpstream(stub: FetchStub, behaviors: Record<string, Behavior>): void {
  const handler: StubHandler = async (request) => {
    const { model } = (await request.clone().json()) as { model: string };
    return (behaviors[model] ?? healthyJson())(request);
  };
  stub.on(UPSTREAM_CHAT_URL, handler);
  stub.on(UPSTREAM_COMPLETIONS_URL, handler);
}

/** The models the router called, in order. */
export function calledModels(stub: FetchStub): string[] {
  const upstream = stub.calls.filter(
    (r) => r.url === UPSTREAM_CHAT_URL || r.url === UPSTREAM_COMPLETIONS_URL,
  );
  return upstream.map((r) => (JSON.parse(r.body) as { model: string }).model);
}

export function healthyJson(): Behavior {
  return async (request) => {
    const { model } = (await request.json()) as { model: string };
    return jsonResponse({
      id: "cmpl-1",
      object: "chat.completion",
      model,
      choices: [
        { index: 0, message: { role: "assistant", content: `hello from ${model}` }, finish_reason: "stop" },
      ],
    });
  };
}

/** A stream the test controls chunk by chunk, that remembers being cancelled. */
export interface ScriptedStream {
  response: Response;
  cancelled: Promise<unknown>;
  wasCancelled: () => boolean;
}

export function sseEvents(model: string, count: number): string[] {
  const events = Array.from(
    { length: count },
    (_, i) =>
      `data: {"object":"chat.completion.chunk","model":"${model}","choices":[{"delta":{"content":"c${i} "}}]}\n\n`,
  );
  return [...events, "data: [DONE]\n\n"];
}

/**
 * An SSE (or other) body: sends `chunks`, then ends per `then`: "close" ends cleanly, "error" breaks the
 * stream, "stall" never sends again.
 */
export function streamBody(
  chunks: string[],
  then: "close" | "error" | "stall",
  contentType = "text/event-stream",
): { behavior: Behavior; cancels: () => number } {
  let cancels = 0;
  const behavior: Behavior = () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks[sent];
        if (next !== undefined) {
          sent += 1;
          controller.enqueue(encoder.encode(next));
          return;
        }
        if (then === "close") controller.close();
        if (then === "error") controller.error(new Error("upstream connection reset"));
        if (then === "stall") return new Promise<void>(() => {});
      },
      cancel() {
        cancels += 1;
      },
    });
    return new Response(body, { status: 200, headers: { "content-type": contentType } });
  };
  return { behavior, cancels: () => cancels };
}

export function status(code: number, body: string, contentType = "application/json"): Behavior {
  return () => new Response(body, { status: code, headers: { "content-type": contentType } });
}

export const connectError: Behavior = () => {
  throw new TypeError("Network connection lost.");
};

/** Never sends headers; fails only when the router aborts. */
export const noHeaders: Behavior = (request) =>
  new Promise<Response>((_resolve, reject) => {
    request.signal.addEventListener("abort", () =>
      reject(new DOMException("The operation was aborted", "AbortError")),
    );
  });

export const emptyBody: Behavior = () =>
  new Response(null, { status: 200, headers: { "content-type": "application/json" } });

export const bodyErrorBeforeFirstByte: Behavior = () =>
  new Response(
    new ReadableStream({
      pull(controller) {
        controller.error(new Error("reset before first byte"));
      },
    }),
    { status: 200, headers: { "content-type": "application/json" } },
  );

export const noFirstByte: Behavior = () =>
  streamBody([], "stall", "application/json").behavior(new Request("http://x"));

export const OVERLOADED_BODY = '{"detail":"Infrastructure is at maximum capacity, try again later"}';
export const USER_429_BODY = '{"detail":"Too many requests, slow down"}';
export const EDGE_HTML_429 =
  "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/** A chat completion as Chutes would answer it: `message` from the assistant, with usage. */
export function chatCompletion(message: Record<string, unknown>, finishReason = "stop"): Behavior {
  return () =>
    new Response(
      JSON.stringify({
        id: "chatcmpl-1",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finishReason }],
        usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
      }),
      { status: 200, headers: { "content-type": "application/json" } },
    );
}

/** Chat SSE chunks for `deltas`, then a finish chunk, the usage chunk and [DONE]. */
export function chatChunks(deltas: ReadonlyArray<Record<string, unknown>>, finishReason: string): string[] {
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices, ...extra })}\n\n`;
  return [
    ...deltas.map((delta) => chunk([{ index: 0, delta }])),
    chunk([{ index: 0, delta: {}, finish_reason: finishReason }]),
    chunk([], { usage: { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37 } }),
    "data: [DONE]\n\n",
  ];
}
