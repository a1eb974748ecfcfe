// The SSE side of a translated protocol (Anthropic Messages, Responses): the upstream's chat-completion events
// read (core/event-stream.ts, so nothing depends on how the bytes were split) and fed to the protocol's
// translation, whose events are written as SSE, `event:` named by their type. The translation decides what the
// client sees; the relay decides when the upstream ended or broke. What every translation reads of a chat
// answer the same way (choice 0, the finish, the usage, in-band errors) is `chatAnswer`'s.
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

/** What a chat answer has said of its end so far: its finish_reason and its usage, once they came. */
export interface AnswerSoFar {
  finishReason: string | null;
  usage: Json | null;
}

/** What a protocol's translation does at each step of a chat answer; `chatAnswer` decides when. */
export interface AnswerSteps {
  /** The answer's opening events: once, before anything else (also when it ends or fails first). */
  open(): void;
  /** Choice 0 of a chunk: the router asks for one choice, and any other would interleave into the same answer. */
  choice(choice: Json): void;
  /** The answer ended cleanly: its closing events. */
  close(so: AnswerSoFar): void;
  /** The answer failed: the protocol's error events. Nothing comes after them. */
  failed(message: string, overloaded: boolean, so: AnswerSoFar): void;
}

/**
 * A protocol's translation of one chat answer, from its steps. What every translation reads the same way is
 * read here: each chunk's choice 0, the finish_reason and the usage; an in-band error (an error object, or
 * Chutes' bare `{"error":…}` line) fails the answer with its message; include_usage's usage-only chunk after
 * the finish ends it; and nothing is read once it ended or failed.
 */
export function chatAnswer(steps: AnswerSteps): EventMachine {
  let opened = false;
  let ended = false;
  let erred = false;
  const so: AnswerSoFar = { finishReason: null, usage: null };

  const open = () => {
    if (opened) return;
    opened = true;
    steps.open();
  };
  const end = () => {
    if (ended) return;
    open();
    steps.close(so);
    ended = true;
  };
  const fail = (message: string, overloaded = false) => {
    if (ended) return;
    erred = true;
    open();
    steps.failed(message, overloaded, so);
    ended = true;
  };
  const onChunk = (chunk: Json) => {
    open();
    if (isObject(chunk.usage)) so.usage = chunk.usage;
    const choices: unknown[] = Array.isArray(chunk.choices) ? chunk.choices : [];
    const finishedBefore = so.finishReason !== null;
    for (const choice of choices) {
      if (!isObject(choice) || (count(choice.index) ?? 0) !== 0) continue;
      steps.choice(choice);
      if (typeof choice.finish_reason === "string") so.finishReason = choice.finish_reason;
    }
    // include_usage sends the usage after the finish_reason, in a chunk of its own with no choices.
    if (finishedBefore && isObject(chunk.usage) && choices.length === 0) end();
  };

  return {
    chunk(payload) {
      if (ended || !isObject(payload)) return;
      const error = payload.error;
      if (error === undefined || error === null) {
        onChunk(payload);
        return;
      }
      const message = isObject(error) ? nonEmpty(error.message) : nonEmpty(error);
      fail(message ?? "The upstream stream failed");
    },
    end,
    fail,
    get ended() {
      return ended;
    },
    get erred() {
      return erred;
    },
  };
}
