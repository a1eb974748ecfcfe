// A whole (non-streamed) OpenAI chat completion → an Anthropic message (docs/contract.md §14): the completion
// read as chunks (completion-chunks.ts) through the same translation a stream takes (answer.ts), and its
// events assembled into one message, so the two can never disagree on blocks, stop_reason or usage.

import { completionChunks } from "../completion-chunks.ts";
import { type AnswerOptions, type AnthropicEvent, assembleMessage, createAnswerMachine } from "./answer.ts";

/** What the route knows that the completion does not. */
export type ResponseContext = AnswerOptions;

/** The Anthropic message for a chat completion, or null when the body is not a chat completion. */
export function translateResponse(
  completion: unknown,
  context: ResponseContext,
): Record<string, unknown> | null {
  const chunks = completionChunks(completion);
  if (chunks === null) return null;
  const events: AnthropicEvent[] = [];
  const machine = createAnswerMachine(context, (event) => events.push(event));
  for (const chunk of chunks) machine.chunk(chunk);
  machine.end();
  return assembleMessage(events);
}
