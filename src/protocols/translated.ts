// How a translated protocol (Anthropic Messages, Responses) answers a committed chat completion: a stream
// re-framed through the protocol's translation (framed-stream.ts) as the relay passes it on, a streamed request
// that the upstream answered with one JSON body sent as the events of that body, and a whole answer read
// through the relay (which keeps the idle timeout and settles the attempt when the body ends) to be translated.
// Each protocol says only how it frames, translates and refuses (`respondTranslated`).
import { isEventStream } from "../core/event-stream.ts";
import type { Failure } from "../core/failure.ts";
import type { RoutingResult } from "../routing/routing-request.ts";
import type { StreamFraming } from "../upstream/relay.ts";
import { completionChunks } from "./completion-chunks.ts";
import type { FramedStream } from "./framed-stream.ts";
import { type ResponseMeta, relayCommitted } from "./respond.ts";

type Committed = Extract<RoutingResult, { kind: "committed" }>;

/** A committed answer that broke before it was whole, or was not a chat completion. */
export const BROKEN_ANSWER: Failure = { kind: "upstream_failed", reason: "upstream_first_body_byte_error" };

/** A JSON answer is read as the upstream sent it; only a stream is re-framed. */
const RELAY_AS_IS: StreamFraming = {
  transform: null,
  finish: null,
  errorEvent: () => new Uint8Array(0),
};

/** A committed answer read whole and parsed; null when it broke or is not JSON. */
async function readWhole(result: Committed, meta: ResponseMeta): Promise<unknown> {
  try {
    return JSON.parse(await new Response(relayCommitted(result, RELAY_AS_IS, meta)).text());
  } catch {
    return null;
  }
}

/** How a translated protocol answers a committed chat completion, and what it answers when that breaks. */
export interface TranslatedAnswer {
  /** The client streams: its framing of this answer (null: the client asked for one whole answer). */
  stream: FramedStream | null;
  /** A whole completion in the protocol's shape, or null when the body is not a chat completion. */
  whole: (completion: unknown) => unknown;
  /** The protocol's answer for a body that broke or is not a chat completion. */
  broken: () => Response;
}

/**
 * A committed answer in a translated protocol: streamed through the protocol's framing, or read whole and
 * translated into one JSON answer; a body that breaks first, or is not a chat completion, is `broken()`.
 */
export async function respondTranslated(
  result: Committed,
  meta: ResponseMeta,
  headers: Headers,
  answer: TranslatedAnswer,
): Promise<Response> {
  if (answer.stream) return (await respondFramed(result, answer.stream, meta, headers)) ?? answer.broken();
  const whole = answer.whole(await readWhole(result, meta));
  if (whole === null) return answer.broken();
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(whole), { status: 200, headers });
}

/** The upstream's `retry-after`, kept on the protocol's answer for an upstream error it passes on. */
export function keepRetryAfter(upstream: Response, headers: Headers): void {
  const retryAfter = upstream.headers.get("retry-after");
  if (retryAfter) headers.set("retry-after", retryAfter);
}

/**
 * A streamed answer re-framed through `stream`, with SSE headers; null when the upstream answered with one JSON
 * body that broke or is not a chat completion (the caller refuses it in its protocol's shape).
 */
async function respondFramed(
  result: Committed,
  stream: FramedStream,
  meta: ResponseMeta,
  headers: Headers,
): Promise<Response | null> {
  if (!isEventStream(result.commit.response.headers.get("content-type"))) {
    const chunks = completionChunks(await readWhole(result, meta));
    if (chunks === null) return null;
    return new Response(new Blob([stream.pushChunks(chunks), stream.finish()]), {
      status: 200,
      headers: sseHeaders(headers),
    });
  }
  const framing: StreamFraming = {
    transform: (events) => stream.push(events),
    finish: () => stream.finish(),
    errorEvent: (message) => stream.fail(message),
    sawError: () => stream.erred(),
  };
  return new Response(relayCommitted(result, framing, meta), { status: 200, headers: sseHeaders(headers) });
}

function sseHeaders(headers: Headers): Headers {
  headers.set("content-type", "text/event-stream; charset=utf-8");
  headers.set("cache-control", "no-cache");
  return headers;
}
