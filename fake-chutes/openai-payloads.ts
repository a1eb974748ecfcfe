// OpenAI-shaped completion payloads and their SSE framing. Content is deterministic ("chunk 0 ", "chunk 1 ", …;
// fixed ids and `created`) so tests can compare bytes; only `model` and the token counts vary with the request.
import { FAKE_CREATED } from "./catalogue.ts";

export type CompletionKind = "chat" | "text";

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

export const SSE_DONE = "data: [DONE]\n\n";

export function toSseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** The text of content chunk `index`. */
export function chunkText(index: number): string {
  return `chunk ${index} `;
}

/** Token counts: about four bytes of request per prompt token, two tokens per content chunk. */
export function countUsage(requestBody: string, chunks: number): Usage {
  const prompt = Math.max(1, Math.ceil(Buffer.byteLength(requestBody) / 4));
  return { prompt_tokens: prompt, completion_tokens: chunks * 2, total_tokens: prompt + chunks * 2 };
}

function envelope(kind: CompletionKind, model: string, streamed: boolean) {
  if (kind === "text") return { id: "cmpl-fake", object: "text_completion", created: FAKE_CREATED, model };
  const object = streamed ? "chat.completion.chunk" : "chat.completion";
  return { id: "chatcmpl-fake", object, created: FAKE_CREATED, model };
}

/**
 * Stream chunk carrying content `index`. The role rides on the first content chunk (no separate role-only
 * chunk), so "N chunks sent" always means N events with content.
 */
export function contentChunk(kind: CompletionKind, model: string, index: number): object {
  const text = chunkText(index);
  const choice =
    kind === "text"
      ? { index: 0, text, logprobs: null, finish_reason: null }
      : {
          index: 0,
          delta: index === 0 ? { role: "assistant", content: text } : { content: text },
          logprobs: null,
          finish_reason: null,
        };
  return { ...envelope(kind, model, true), choices: [choice] };
}

/** Last content-less chunk with `finish_reason: "stop"`. */
export function finishChunk(kind: CompletionKind, model: string): object {
  const choice =
    kind === "text"
      ? { index: 0, text: "", logprobs: null, finish_reason: "stop" }
      : { index: 0, delta: {}, logprobs: null, finish_reason: "stop" };
  return { ...envelope(kind, model, true), choices: [choice] };
}

/** Usage chunk with empty `choices`; Chutes forces `stream_options.include_usage`, so it is always sent. */
export function usageChunk(kind: CompletionKind, model: string, usage: Usage): object {
  return { ...envelope(kind, model, true), choices: [], usage };
}

/** The whole stream after the content chunks: finish, usage, `[DONE]`. */
export function streamTail(kind: CompletionKind, model: string, usage: Usage): string {
  return toSseEvent(finishChunk(kind, model)) + toSseEvent(usageChunk(kind, model, usage)) + SSE_DONE;
}

/** Non-streamed `chat.completion` / `text_completion` with `chunks` pieces of content. */
export function completionBody(kind: CompletionKind, model: string, chunks: number, usage: Usage): object {
  let text = "";
  for (let index = 0; index < chunks; index += 1) text += chunkText(index);
  const choice =
    kind === "text"
      ? { index: 0, text, logprobs: null, finish_reason: "stop" }
      : { index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: "stop" };
  return { ...envelope(kind, model, false), choices: [choice], usage };
}
