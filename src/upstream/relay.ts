// Streams a committed upstream body to the client chunk by chunk, pulling only when the client reads (no
// buffering). After commit nothing is retried: a break, or an upstream silent past UPSTREAM_IDLE_TIMEOUT_MS
// while we wait on it, ends an SSE stream with one error event and errors any other body (docs/contract.md
// §7). A client that goes away cancels the upstream. The protocol decides the framing: its transform re-frames
// chunks (none passes them through untouched) and its encoder writes the error event. Per chunk this does a
// read, the transform if any, a scan for SSE `data:` lines and an enqueue: the idle check is one watchdog
// timer per idle period, and the upstream's tail (how it ended, and its usage) is looked at once, at its end.

import type { StreamEnd } from "../core/outcome.ts";
import { endsAtEventBoundary, endsWithBareErrorLine } from "../core/sse.ts";
import { countDataLines, type StreamTally } from "../core/usage-meter.ts";

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
  /** Called exactly once, when the relay ends for any reason, with what it saw of the upstream's body. */
  onEnd: (end: StreamEnd, tally: StreamTally) => void;
}

// Enough of the stream's end to see its last line and its final usage chunk.
const TAIL_BYTES = 8192;
// How an ended stream is judged: its last line only.
const END_LINE_BYTES = 512;

export function relayBody(
  first: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  let ended = false;
  // The upstream's last chunks, newest last, holding at least TAIL_BYTES when the body is that long.
  const recent: Uint8Array[] = [first];
  let recentBytes = first.byteLength;
  let bytes = first.byteLength;
  // Data lines are what a usage-less stream is charged by; a JSON body is charged by its length instead.
  let [dataEvents, atLineStart] = options.isEventStream ? countDataLines(first, true) : [0, true];
  let waitingSinceMs: number | null = null;
  let stalled = false;
  let watchdog: ReturnType<typeof setTimeout> | null = null;
  const { transform, finish, errorEvent } = options.framing;
  // Read once the upstream has nothing more to send: how the stream ended and what it used.
  let tail: string | null = null;
  const tailOnce = () => {
    tail ??= tailText(recent, TAIL_BYTES);
    return tail;
  };

  const end = (how: StreamEnd) => {
    if (ended) return;
    ended = true;
    if (watchdog !== null) clearTimeout(watchdog);
    options.onEnd(how, { tail: tailOnce(), dataEvents, bytes });
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
          const chunk = next.value;
          if (chunk.byteLength > 0) {
            bytes += chunk.byteLength;
            if (options.isEventStream) {
              const [events, endsLine] = countDataLines(chunk, atLineStart);
              dataEvents += events;
              atLineStart = endsLine;
            }
            recent.push(chunk);
            recentBytes += chunk.byteLength;
            while (recent.length > 1 && recentBytes - (recent[0] as Uint8Array).byteLength >= TAIL_BYTES)
              recentBytes -= (recent.shift() as Uint8Array).byteLength;
          }
          const framed = transform ? transform(next.value) : next.value;
          if (framed.byteLength > 0 || !transform) {
            controller.enqueue(framed);
            return;
          }
        }
        const lastLines = tailOnce().slice(-END_LINE_BYTES);
        if (next?.done && !stalled && !(options.isEventStream && endsWithBareErrorLine(lastLines))) {
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
          controller.enqueue(errorEvent(message, !endsAtEventBoundary(lastLines)));
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

// Bytes to chars one to one, natively: latin1 keeps every ASCII byte as is, which is all the tail is read for.
const latin1 = new TextDecoder("latin1");

/** The last `limit` bytes of the stream as text, one char per byte (JSON keys and SSE framing are ASCII). */
function tailText(recent: readonly Uint8Array[], limit: number): string {
  const parts: string[] = [];
  let need = limit;
  for (let c = recent.length - 1; c >= 0 && need > 0; c--) {
    const chunk = recent[c] as Uint8Array;
    const from = Math.max(0, chunk.byteLength - need);
    parts.push(latin1.decode(chunk.subarray(from)));
    need -= chunk.byteLength - from;
  }
  return parts.reverse().join("");
}
