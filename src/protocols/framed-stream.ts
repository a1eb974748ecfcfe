// The SSE side of a translated protocol (Anthropic Messages, Responses): the upstream's chat-completion events
// read (core/event-stream.ts, so nothing depends on how the bytes were split) and fed to the protocol's
// translation, whose events are written as SSE, `event:` named by their type. The translation decides what the
// client sees; the relay decides when the upstream ended or broke.
import { formatSseText, type SseEvent } from "../core/event-stream.ts";

/** A protocol's translation of one answer; it emits its events to the sink it was made with. */
export interface EventMachine {
  /** One parsed upstream chunk (`data:` JSON): a chat.completion.chunk, or an error object. */
  chunk(payload: unknown): void;
  /** The upstream said `[DONE]` or ended cleanly: the answer's closing events. */
  end(): void;
  /** The answer failed after commit: the protocol's error events. Nothing after them. */
  fail(message: string, overloaded?: boolean): void;
  /** Whether the answer is over (ended or failed); later input is ignored. */
  readonly ended: boolean;
  /** Whether it was ended by an error rather than a clean end. */
  readonly erred: boolean;
}

/** The re-framer the relay drives: push per upstream chunk, then finish or fail exactly once. */
export interface FramedStream {
  /** Feeds the upstream's next whole events; returns the SSE bytes to send now (possibly empty). */
  push(events: readonly SseEvent[]): Uint8Array;
  /** Feeds chunks already parsed (a whole completion read as a stream: completion-chunks.ts). */
  pushChunks(chunks: readonly unknown[]): Uint8Array;
  /** The upstream ended cleanly: the closing events. */
  finish(): Uint8Array;
  /** The upstream failed after commit: the error events. */
  fail(message: string, overloaded?: boolean): Uint8Array;
  /** Whether the stream was ended by an upstream error event rather than a clean end. */
  erred(): boolean;
}

/** A re-framer for one streamed answer through the machine `make` builds; each call returns the bytes to send. */
export function framedStream(make: (emit: (event: { type: string }) => void) => EventMachine): FramedStream {
  const encoder = new TextEncoder();
  let out = "";
  const machine = make((event) => {
    out += formatSseText(JSON.stringify(event), event.type);
  });
  const take = (): Uint8Array => {
    const bytes = encoder.encode(out);
    out = "";
    return bytes;
  };

  function onEvent(event: SseEvent): void {
    const data = event.data?.trim();
    if (data === undefined || data === "") return;
    if (data === "[DONE]") {
      machine.end();
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    machine.chunk(payload);
  }

  return {
    push(events) {
      for (const event of events) {
        if (machine.ended) break;
        onEvent(event);
      }
      return take();
    },
    pushChunks(chunks) {
      for (const chunk of chunks) machine.chunk(chunk);
      return take();
    },
    finish() {
      machine.end();
      return take();
    },
    fail(message, overloaded = false) {
      machine.fail(message, overloaded);
      return take();
    },
    erred: () => machine.erred,
  };
}

type Json = Record<string, unknown>;

/** Readers of the upstream's chunk fields, for the answer machines. */
export const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
export const nonEmpty = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? value : null;
export const count = (value: unknown): number | null => (typeof value === "number" ? value : null);

/**
 * What a machine does with one parsed upstream chunk: a completion chunk goes to `onChunk`; an in-band error
 * (an error object, or Chutes' bare `{"error":…}` line) fails the answer with its message.
 */
export function readChunk(
  payload: unknown,
  onChunk: (chunk: Json) => void,
  fail: (message: string) => void,
): void {
  if (!isObject(payload)) return;
  const error = payload.error;
  if (error === undefined || error === null) {
    onChunk(payload);
    return;
  }
  const message = isObject(error) ? nonEmpty(error.message) : nonEmpty(error);
  fail(message ?? "The upstream stream failed");
}
