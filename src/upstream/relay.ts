// Streams a committed upstream body to the client chunk by chunk, pulling only when the client reads (no
// buffering). After commit nothing is retried: a break, or an upstream silent past UPSTREAM_IDLE_TIMEOUT_MS
// while we wait on it, ends an SSE stream with one error event and errors any other body (docs/contract.md
// §7). A client that goes away cancels the upstream. The protocol decides the framing: its transform re-frames
// chunks (none passes them through untouched) and its encoder writes the error event. Per chunk this does a
// read, the transform if any, and an enqueue: the idle check is one watchdog timer per idle period, and the
// upstream's tail is looked at once, at its end.

import type { StreamEnd } from "../core/outcome.ts";
import { endsAtEventBoundary, endsWithBareErrorLine } from "../core/sse.ts";

/** How one protocol frames a relayed stream for its client. */
export interface StreamFraming {
  /** Re-frames an upstream chunk (an empty result sends nothing yet); null relays chunks untouched. */
  transform: ((chunk: Uint8Array) => Uint8Array) | null;
  /** Bytes to send when the upstream ended cleanly, before the client's stream closes. */
  finish: (() => Uint8Array) | null;
  /** The event that ends a broken SSE stream; `endedMidEvent` when the upstream stopped inside an event. */
  errorEvent(message: string, endedMidEvent: boolean): Uint8Array;
  /** Whether the transform saw the upstream report an error inside the stream: then a clean close is a failure. */
  sawError?: () => boolean;
}

export interface RelayOptions {
  idleTimeoutMs: number;
  isEventStream: boolean;
  framing: StreamFraming;
  /** Aborts the upstream fetch. */
  abortUpstream: (reason: string) => void;
  /** Called exactly once, when the relay ends for any reason. */
  onEnd: (end: StreamEnd) => void;
}

// Enough of the stream's end to see its last line.
const TAIL_BYTES = 512;

export function relayBody(
  first: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  let ended = false;
  let last = first;
  let beforeLast: Uint8Array | null = null;
  let waitingSinceMs: number | null = null;
  let stalled = false;
  let watchdog: ReturnType<typeof setTimeout> | null = null;
  const { transform, finish, errorEvent } = options.framing;

  const end = (how: StreamEnd) => {
    if (ended) return;
    ended = true;
    if (watchdog !== null) clearTimeout(watchdog);
    options.onEnd(how);
  };
  // Fires at most once per idle period; only time spent waiting on the upstream counts, not on the client.
  const checkIdle = () => {
    watchdog = null;
    if (ended) return;
    const waitedMs = waitingSinceMs === null ? 0 : Date.now() - waitingSinceMs;
    if (waitedMs >= options.idleTimeoutMs) {
      stalled = true;
      options.abortUpstream("idle_timeout");
      reader.cancel("idle_timeout").catch(() => {});
      return;
    }
    watchdog = setTimeout(checkIdle, options.idleTimeoutMs - waitedMs);
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const framed = transform ? transform(first) : first;
        if (framed.byteLength > 0) controller.enqueue(framed);
        watchdog = setTimeout(checkIdle, options.idleTimeoutMs);
      },
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array> | null;
        // A transform may hold a chunk back (a partial line); read on until there is something to send.
        for (;;) {
          waitingSinceMs = Date.now();
          try {
            next = await reader.read();
          } catch {
            next = null;
          }
          waitingSinceMs = null;
          if (!next || next.done || stalled) break;
          if (next.value.byteLength > 0) {
            beforeLast = last;
            last = next.value;
          }
          const framed = transform ? transform(next.value) : next.value;
          if (framed.byteLength > 0 || !transform) {
            controller.enqueue(framed);
            return;
          }
        }
        const tail = tailText(beforeLast, last);
        if (next?.done && !stalled && !(options.isEventStream && endsWithBareErrorLine(tail))) {
          const closing = finish?.();
          if (closing && closing.byteLength > 0) controller.enqueue(closing);
          controller.close();
          end(options.framing.sawError?.() ? "upstream_error" : "complete");
          return;
        }
        const how = stalled ? "idle_timeout" : "upstream_error";
        if (!next?.done) {
          options.abortUpstream(how);
          reader.cancel().catch(() => {});
        }
        const message =
          how === "idle_timeout"
            ? `The upstream stream stalled for more than ${options.idleTimeoutMs} ms`
            : "The upstream stream failed";
        if (options.isEventStream) {
          controller.enqueue(errorEvent(message, !endsAtEventBoundary(tail)));
          controller.close();
        } else {
          controller.error(new Error(message));
        }
        end(how);
      },
      cancel(reason) {
        options.abortUpstream("client_cancel");
        reader.cancel(reason).catch(() => {});
        end("client_cancel");
      },
    },
    { highWaterMark: 0 },
  );
}

/** The last TAIL_BYTES of the stream as text, one char per byte (JSON keys and SSE framing are ASCII). */
function tailText(beforeLast: Uint8Array | null, last: Uint8Array): string {
  let text = "";
  const need = Math.max(0, TAIL_BYTES - last.byteLength);
  if (beforeLast && need > 0) {
    for (let i = Math.max(0, beforeLast.byteLength - need); i < beforeLast.byteLength; i++) {
      text += String.fromCharCode(beforeLast[i] as number);
    }
  }
  for (let i = Math.max(0, last.byteLength - TAIL_BYTES); i < last.byteLength; i++) {
    text += String.fromCharCode(last[i] as number);
  }
  return text;
}
