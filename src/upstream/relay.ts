// Streams a committed upstream body to the client chunk by chunk, pulling only when the client reads (no
// buffering). After commit nothing is retried: a break, or an upstream silent past UPSTREAM_IDLE_TIMEOUT_MS
// while we wait on it, ends an SSE stream with one error event and errors any other body (docs/contract.md
// §7). A client that goes away cancels the upstream. An SSE body is read as events (core/event-stream.ts):
// each chunk's whole events are counted for metering, handed to the protocol's framing when it re-frames them,
// and the last few kept for the usage read at the end; a relay that passes bytes through sends each chunk as it
// came. A JSON body keeps only its tail, for its usage. The idle check is one watchdog timer per idle period.

import { createSseReader, endsWithBareError, type SseEvent } from "../core/event-stream.ts";
import type { StreamEnd } from "../core/outcome.ts";
import { type StreamTally, usageInEvents, usageInJsonTail } from "../core/usage-meter.ts";

/** How one protocol frames a relayed stream for its client. */
export interface StreamFraming {
  /** Re-frames an SSE body's events as they complete (an empty result sends nothing yet); null relays bytes. */
  transform: ((events: readonly SseEvent[]) => Uint8Array) | null;
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

// A stream's usage chunk comes last or next to last before [DONE]: the data events kept for it.
const USAGE_EVENTS_KEPT = 4;
// Enough of a JSON body's end to hold its usage object.
const JSON_TAIL_BYTES = 8192;

/** What the relay reads of the body as it passes: its events (SSE) or its tail (JSON), for the end. */
interface BodyWatch {
  /** Takes a chunk; returns its whole events when the body is SSE (for the framing). */
  take(chunk: Uint8Array): readonly SseEvent[];
  /** The body ended: its last events (an unterminated one too), and the tally. */
  end(): { rest: SseEvent | null; endedMidEvent: boolean; bareError: boolean; tally: StreamTally };
}

export function relayBody(
  first: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  let ended = false;
  const watch = options.isEventStream ? watchEvents() : watchJson();
  let waitingSinceMs: number | null = null;
  let stalled = false;
  let watchdog: ReturnType<typeof setTimeout> | null = null;
  const { transform, finish, errorEvent } = options.framing;
  let closing: ReturnType<BodyWatch["end"]> | null = null;
  const endOnce = () => {
    closing ??= watch.end();
    return closing;
  };

  const end = (how: StreamEnd) => {
    if (ended) return;
    ended = true;
    if (watchdog !== null) clearTimeout(watchdog);
    options.onEnd(how, endOnce().tally);
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
  const framed = (chunk: Uint8Array): Uint8Array => {
    const events = watch.take(chunk);
    return transform ? transform(events) : chunk;
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const bytes = framed(first);
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        watchdog = setTimeout(checkIdle, options.idleTimeoutMs);
      },
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array> | null;
        // A transform may hold a chunk back (a partial event); read on until there is something to send.
        for (;;) {
          waitingSinceMs = Date.now();
          try {
            next = await reader.read();
          } catch {
            next = null;
          }
          waitingSinceMs = null;
          if (!next || next.done || stalled) break;
          if (next.value.byteLength === 0) continue;
          const bytes = framed(next.value);
          if (bytes.byteLength > 0 || !transform) {
            controller.enqueue(bytes);
            return;
          }
        }
        const { rest, endedMidEvent, bareError } = endOnce();
        if (next?.done && !stalled && !bareError) {
          const last = transform && rest ? transform([rest]) : null;
          if (last && last.byteLength > 0) controller.enqueue(last);
          const closingBytes = finish?.();
          if (closingBytes && closingBytes.byteLength > 0) controller.enqueue(closingBytes);
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
          controller.enqueue(errorEvent(message, endedMidEvent));
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

/** An SSE body: its events counted as they complete, the last data events kept for the usage. */
function watchEvents(): BodyWatch {
  const reader = createSseReader();
  const recent: SseEvent[] = [];
  let dataEvents = 0;
  let bytes = 0;
  let last: SseEvent | null = null;
  const note = (event: SseEvent) => {
    last = event;
    if (!event.startsWithData) return;
    dataEvents += 1;
    recent.push(event);
    if (recent.length > USAGE_EVENTS_KEPT) recent.shift();
  };
  return {
    take(chunk) {
      bytes += chunk.byteLength;
      const events = reader.push(chunk);
      for (const event of events) note(event);
      return events;
    },
    end() {
      const rest = reader.end();
      if (rest) note(rest);
      const final: SseEvent | null = last;
      return {
        rest,
        endedMidEvent: rest !== null,
        bareError: final !== null && endsWithBareError(final),
        tally: { usage: usageInEvents(recent), dataEvents, bytes },
      };
    },
  };
}

// Bytes to chars one to one, natively: latin1 keeps every ASCII byte as is, which is all the tail is read for.
const latin1 = new TextDecoder("latin1");

/** A JSON body: its length, and its last bytes for the usage object. */
function watchJson(): BodyWatch {
  const recent: Uint8Array[] = [];
  let recentBytes = 0;
  let bytes = 0;
  return {
    take(chunk) {
      bytes += chunk.byteLength;
      recent.push(chunk);
      recentBytes += chunk.byteLength;
      while (recent.length > 1 && recentBytes - (recent[0] as Uint8Array).byteLength >= JSON_TAIL_BYTES)
        recentBytes -= (recent.shift() as Uint8Array).byteLength;
      return [];
    },
    end() {
      const tail = recent.map((chunk) => latin1.decode(chunk)).join("");
      return {
        rest: null,
        endedMidEvent: false,
        bareError: false,
        tally: { usage: usageInJsonTail(tail.slice(-JSON_TAIL_BYTES)), dataEvents: 0, bytes },
      };
    },
  };
}
