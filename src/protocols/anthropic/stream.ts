// Re-frames an upstream OpenAI chat-completions SSE stream as Anthropic Messages SSE events (docs/contract.md
// §14): answer.ts's translation written as SSE by the shared framed stream (protocols/framed-stream.ts).
import { type FramedStream, framedStream } from "../framed-stream.ts";
import { type AnswerOptions, createAnswerMachine } from "./answer.ts";

export type AnthropicStreamOptions = AnswerOptions;

/**
 * The re-framer the relay drives. `fail` closes the open block if any, then sends `event: error` with
 * {"type":"error","error":{"type":"api_error","message":...}} (type "overloaded_error" when overloaded).
 */
export type AnthropicStream = FramedStream;

/** A re-framer for one streamed answer; each call returns the bytes to send for what it was given. */
export function createAnthropicStream(options: AnthropicStreamOptions): AnthropicStream {
  return framedStream((emit) => createAnswerMachine(options, emit));
}
