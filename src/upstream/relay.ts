// Streams a committed answer to the client chunk by chunk, pulling only when the client reads (no buffering).
// A break, or an upstream silent past UPSTREAM_IDLE_TIMEOUT_MS while we wait on it, ends an SSE stream with
// one error event and errors any other body (docs/contract.md §7), unless the answer can go on in another
// attempt (§19). A client that goes away cancels the upstream. An SSE body is read as events
// (core/event-stream.ts): each chunk's whole events are counted for metering, handed to the protocol's framing
// when it re-frames them and to whoever subscribed (core/answer-content.ts), and the last few kept for the
// usage read at the end; a relay that passes bytes through sends each chunk as it came. A JSON body keeps only
// its tail, for its usage. The idle check goes on with the attempt's one timer (upstream/deadline.ts), armed
// only while a read waits.
//
// A committed answer is a sequence of parts, one per upstream attempt that contributed to it. When a
// `continueWith` is given, a broken SSE part asks it for the next part, which the client receives as the
// continuation of the same answer; a `splice` (core/stream-splice.ts) sees every event first, so the parts
// read as one answer, and can itself end a part (an in-band failure it held back, a stop across the seam).
// Such a relay sends only whole events, so a break never leaves half an event with the client, and the parts'
// events, as spliced, in order, are what the client got.

import { concat, createSseReader, endsWithBareError, type SseEvent } from "../core/event-stream.ts";
import type { PartEnd, StreamEnd } from "../core/outcome.ts";
import type { SpliceVerdict, StreamSplice } from "../core/stream-splice.ts";
import { type StreamTally, usageInEvents, usageInJsonTail } from "../core/usage-meter.ts";
import { createDeadline, type Deadline } from "./deadline.ts";

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

/** One upstream attempt's body, from its first bytes on. */
export interface UpstreamPart {
  first: Uint8Array;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Aborts the attempt's fetch. */
  abort: (reason: string) => void;
  /** The attempt's timer, to go on using for the idle waits (upstream/deadline.ts); else one is made. */
  deadline?: Deadline;
}

/** Whoever wants to see an answer as it passes (content, recording). */
export interface RelaySubscriber {
  /** An SSE answer's whole events. */
  onEvents(events: readonly SseEvent[]): void;
  /** Any other body's bytes, as they come. */
  onBytes?(chunk: Uint8Array): void;
}

/**
 * Asked when a part broke or stalled: the part that continues the answer, or null to end it there. `why` is
 * what the splice saw, when it ended the part (an in-band error, or a continuation that restarted).
 */
export type Continuation = (
  partsSoFar: readonly PartEnd[],
  why: Exclude<SpliceVerdict, { kind: "pass" | "stopped" }> | null,
) => Promise<UpstreamPart | null>;

export interface RelayOptions {
  idleTimeoutMs: number;
  isEventStream: boolean;
  framing: StreamFraming;
  /**
   * Called exactly once, when the relay ends for any reason, with every part in order; the last one's end is
   * how the answer ended.
   */
  onEnd: (parts: readonly PartEnd[]) => void;
  subscribers?: readonly RelaySubscriber[];
  /** SSE only: where the answer continues when a part breaks (none: the break ends it). */
  continueWith?: Continuation;
  /**
   * SSE only: what every upstream event passes through before anyone sees it, so that parts read as one
   * answer (core/stream-splice.ts); it can also end a part (an in-band failure, a stop across the seam).
   */
  splice?: StreamSplice;
}

const PASS: SpliceVerdict = { kind: "pass" };

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

export function relayBody(initial: UpstreamPart, options: RelayOptions): ReadableStream<Uint8Array> {
  const { transform, finish, errorEvent } = options.framing;
  const subscribers = options.subscribers ?? [];
  const continueWith = options.isEventStream ? options.continueWith : undefined;
  const splice = options.isEventStream ? options.splice : undefined;
  // With a continuation the client gets whole events only: what a broken part began is never sent.
  const wholeEvents = transform === null && (continueWith !== undefined || splice !== undefined);
  // What the splice said of the current part, once it said something other than "go on".
  let verdict: SpliceVerdict = PASS;
  const parts: PartEnd[] = [];
  let part = initial;
  let watch = options.isEventStream ? watchEvents() : watchJson();
  let ended = false;
  let stalled = false;
  let deadline = initial.deadline ?? createDeadline();
  let closing: ReturnType<BodyWatch["end"]> | null = null;
  let continuing = false;
  const closePart = () => {
    closing ??= watch.end();
    return closing;
  };

  /** The current part ended `how`; `last`: the answer ends with it. */
  const endPart = (how: StreamEnd, last: boolean) => {
    if (ended) return;
    parts.push({ end: how, tally: closePart().tally });
    if (!last) return;
    finishAnswer();
  };
  const finishAnswer = () => {
    ended = true;
    deadline.stop();
    options.onEnd(parts);
  };
  /** The answer ended as answers end: the framing's closing bytes, then the client's stream closes. */
  const finishClean = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    const closingBytes = finish?.();
    if (closingBytes && closingBytes.byteLength > 0) controller.enqueue(closingBytes);
    controller.close();
    endPart(options.framing.sawError?.() ? "upstream_error" : "complete", true);
  };
  // Only time spent waiting on the upstream counts, not time the client takes to read.
  const onIdle = () => {
    if (ended) return;
    stalled = true;
    releasePart(part, "idle_timeout");
  };
  const framed = (chunk: Uint8Array): Uint8Array => {
    const events = watch.take(chunk);
    if (!options.isEventStream) for (const subscriber of subscribers) subscriber.onBytes?.(chunk);
    return send(splice ? spliced(events) : events, chunk);
  };
  /** Events as the client should get them, after the splice; notes what it said of the part. */
  const spliced = (events: readonly SseEvent[]): readonly SseEvent[] => {
    if (!splice || verdict.kind !== "pass") return verdict.kind === "pass" ? events : [];
    const taken = splice.take(events);
    verdict = taken.verdict;
    return taken.events;
  };
  /** The bytes the client gets for `events` (the events of `chunk`, when it came whole from the upstream). */
  const send = (events: readonly SseEvent[], chunk: Uint8Array | null): Uint8Array => {
    if (options.isEventStream) for (const subscriber of subscribers) subscriber.onEvents(events);
    if (transform) return transform(events);
    return wholeEvents || chunk === null ? concat(events.map((event) => event.raw)) : chunk;
  };
  /** Starts relaying `next` as the answer's next part; whether anything was sent yet. */
  const begin = (next: UpstreamPart, controller: ReadableStreamDefaultController<Uint8Array>): boolean => {
    if (next !== part) {
      deadline.stop();
      deadline = next.deadline ?? createDeadline();
    }
    part = next;
    watch = options.isEventStream ? watchEvents() : watchJson();
    closing = null;
    stalled = false;
    verdict = PASS;
    const bytes = framed(next.first);
    if (bytes.byteLength > 0) controller.enqueue(bytes);
    return bytes.byteLength > 0;
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        begin(initial, controller);
      },
      async pull(controller) {
        // A pull must send something or end the stream: the reader waits on it. A continuation whose first
        // events are held back (the splice judges them first) sends nothing yet, so read on.
        while (!(await pullOnce(controller))) {}
      },
      cancel() {
        if (ended) return;
        // Gone while the next part was sought: the answer ended with the part that broke.
        if (continuing) {
          finishAnswer();
          return;
        }
        releasePart(part, "client_cancel");
        endPart("client_cancel", true);
      },
    },
    { highWaterMark: 0 },
  );

  /** One step of the relay; false when it sent nothing and did not end (another step is due). */
  async function pullOnce(controller: ReadableStreamDefaultController<Uint8Array>): Promise<boolean> {
    let next: ReadableStreamReadResult<Uint8Array> | null = null;
    // A transform may hold a chunk back (a partial event); read on until there is something to send.
    // The splice may have ended the part already (in its first bytes): then nothing more is read.
    while (verdict.kind === "pass") {
      deadline.arm(options.idleTimeoutMs, onIdle);
      try {
        next = await part.reader.read();
      } catch {
        next = null;
      }
      deadline.disarm();
      if (ended) return true;
      if (!next || next.done || stalled) break;
      if (next.value.byteLength === 0) continue;
      const bytes = framed(next.value);
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      if (verdict.kind !== "pass") break;
      if (bytes.byteLength > 0 || (!transform && !wholeEvents)) return true;
    }
    if (verdict.kind === "stopped") {
      // The splice ended the answer (a stop sequence across the seam): the upstream has nothing more to say.
      releasePart(part, "complete");
      closePart();
      finishClean(controller);
      return true;
    }
    const { rest, endedMidEvent, bareError } = closePart();
    if (verdict.kind === "pass" && next?.done && !stalled && !bareError) {
      // A last event without its blank line is still the upstream's; a byte relay sent it already.
      const tail: Uint8Array[] = [];
      if (rest && (transform || wholeEvents)) tail.push(send(spliced([rest]), null));
      else if (rest) for (const subscriber of subscribers) subscriber.onEvents([rest]);
      const ending = splice && verdict.kind === "pass" ? splice.end() : null;
      if (ending && ending.events.length > 0) tail.push(send(ending.events, null));
      const last = concat(tail);
      if (last.byteLength > 0) controller.enqueue(last);
      // An answer that stopped without a finish or [DONE] broke, when it can be continued.
      if (verdict.kind === "pass" && (ending === null || ending.whole)) {
        finishClean(controller);
        return true;
      }
    }
    const how = stalled ? "idle_timeout" : "upstream_error";
    if (!next?.done) releasePart(part, how);
    if (continueWith) {
      endPart(how, false);
      continuing = true;
      const why = verdict.kind === "broke" || verdict.kind === "restarted" ? verdict : null;
      const following = await continueWith(parts, why).catch(() => null);
      continuing = false;
      if (following && ended) releasePart(following, "client_cancel");
      if (ended) return true;
      // What the next part sent at once; when its first events are held back, read on.
      if (following) return begin(following, controller);
      parts.pop();
    }
    const message =
      how === "idle_timeout"
        ? `The upstream stream stalled for more than ${options.idleTimeoutMs} ms`
        : "The upstream stream failed";
    if (options.isEventStream) {
      controller.enqueue(errorEvent(message, endedMidEvent && !wholeEvents));
      controller.close();
    } else {
      controller.error(new Error(message));
    }
    endPart(how, true);
    return true;
  }
}

/** Lets go of a part nobody will read on: its fetch aborted, its body cancelled, its timer stopped. */
export function releasePart(part: UpstreamPart, reason: string): void {
  part.abort(reason);
  part.reader.cancel(reason).catch(() => {});
  part.deadline?.stop();
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
