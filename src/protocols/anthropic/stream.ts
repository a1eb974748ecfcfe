// Re-frames an upstream OpenAI chat-completions SSE stream as Anthropic Messages SSE events (docs/contract.md
// §14). The translation itself is answer.ts's, shared with whole answers; this file only reads the upstream's
// events (core/event-stream.ts, so it does not depend on how the bytes were split) and writes each Anthropic
// event as SSE. The relay decides when the upstream ended or broke.
import { formatSseText, type SseEvent } from "../../core/event-stream.ts";
import { type AnswerOptions, createAnswerMachine } from "./answer.ts";

export type AnthropicStreamOptions = AnswerOptions;

/** The re-framer the relay drives: push per upstream chunk, then finish or fail exactly once. */
export interface AnthropicStream {
  /** Feeds the upstream's next whole events; returns the Anthropic SSE bytes to send now (possibly empty). */
  push(events: readonly SseEvent[]): Uint8Array;
  /** Feeds chunks already parsed (a whole completion read as a stream: completion-chunks.ts). */
  pushChunks(chunks: readonly unknown[]): Uint8Array;
  /** The upstream ended cleanly: closes any open block, sends message_delta (stop_reason, final usage) and message_stop. */
  finish(): Uint8Array;
  /** The upstream failed after commit: closes the open block if any, then `event: error` with {"type":"error","error":{"type":"api_error","message":...}} (type "overloaded_error" when `overloaded` is true). Nothing after it. */
  fail(message: string, overloaded?: boolean): Uint8Array;
  /** Whether the stream was ended by an upstream error event rather than a clean end. */
  erred(): boolean;
}

/** A re-framer for one streamed answer; each call returns the bytes to send for what it was given. */
export function createAnthropicStream(options: AnthropicStreamOptions): AnthropicStream {
  const encoder = new TextEncoder();
  let out = "";
  const machine = createAnswerMachine(options, (event) => {
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
