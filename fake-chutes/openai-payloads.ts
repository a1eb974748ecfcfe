// OpenAI-shaped completion payloads and their SSE framing. Content is deterministic ("chunk 0 ", "chunk 1 ", …;
// fixed ids and `created`) so tests can compare bytes; only `model` and the token counts vary with the request.
// Chat answers may also carry scripted reasoning and tool calls (vLLM's shapes), which text completions ignore.
import type { FakeToolCall, ReasoningField } from "./behaviors.ts";
import { FAKE_CREATED } from "./catalogue.ts";

export type CompletionKind = "chat" | "text";

/** What a chat answer says besides its content chunks. */
export type AnswerExtras = {
  reasoning?: string;
  reasoningField?: ReasoningField;
  toolCalls?: readonly FakeToolCall[];
};

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

export const SSE_DONE = "data: [DONE]\n\n";

export function toSseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** The text of content chunk `index`. */
export function chunkText(index: number): string {
  return `chunk ${index} `;
}

/** The content chunks of an answer with `chunks` of them: `chunkText(0)` … `chunkText(chunks - 1)`. */
export function answerChunks(chunks: number): string[] {
  return Array.from({ length: chunks }, (_, index) => chunkText(index));
}

/** One answer in each form the wire carries it: stream events before the tail, the tail, the JSON body. */
export type RenderedAnswer = { events: object[]; tail: string; body: object };

/**
 * Token counts: about four bytes of request per prompt token, two tokens per content chunk, plus `extra`
 * completion tokens (reasoning and tool calls, see `extraTokens`).
 */
export function countUsage(requestBody: string, chunks: number, extra = 0): Usage {
  const prompt = Math.max(1, Math.ceil(Buffer.byteLength(requestBody) / 4));
  const completion = chunks * 2 + extra;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** One completion token per reasoning word and per tool-call stream event (streamed or not, the same count). */
export function extraTokens(kind: CompletionKind, extras: AnswerExtras): number {
  if (kind === "text") return 0;
  let tokens = reasoningPieces(extras.reasoning ?? "").length;
  for (const [index, call] of (extras.toolCalls ?? []).entries()) {
    tokens += 1 + argumentPieces(call.arguments, index).length;
  }
  return tokens;
}

/** Reasoning cut into one piece per word, the whitespace after a word riding with it; the pieces join to `text`. */
export function reasoningPieces(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text === "" ? [] : [text]);
}

/**
 * Tool-call arguments cut into 3 pieces for calls 0, 2, … and 2 pieces for calls 1, 3, … (fewer when the
 * arguments have fewer code points; none when empty). Cuts fall between code points; the pieces join to `args`.
 */
export function argumentPieces(args: string, callIndex: number): string[] {
  const points = Array.from(args);
  const parts = Math.min(callIndex % 2 === 0 ? 3 : 2, points.length);
  const pieces: string[] = [];
  for (let part = 0; part < parts; part += 1) {
    const from = Math.floor((points.length * part) / parts);
    const to = Math.floor((points.length * (part + 1)) / parts);
    pieces.push(points.slice(from, to).join(""));
  }
  return pieces;
}

export function toolCallId(call: FakeToolCall, index: number): string {
  return call.id ?? `call_${index}`;
}

export function finishReasonOf(kind: CompletionKind, extras: AnswerExtras): "stop" | "tool_calls" {
  return kind === "chat" && (extras.toolCalls ?? []).length > 0 ? "tool_calls" : "stop";
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
  if (kind === "text") {
    return {
      ...envelope(kind, model, true),
      choices: [{ index: 0, text, logprobs: null, finish_reason: null }],
    };
  }
  return deltaChunk(model, index === 0 ? { role: "assistant", content: text } : { content: text });
}

/** A `chat.completion.chunk` carrying one delta. */
export function deltaChunk(model: string, delta: object): object {
  return {
    ...envelope("chat", model, true),
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
  };
}

/**
 * Every stream event before the finish chunk, in order: reasoning (one per word, in `reasoningField`), the
 * `chunks` content chunks, then per tool call a header (`id`, `type`, `function.name`, empty `arguments`) and
 * its argument pieces. The role rides on the first event. Without extras this is `contentChunk` 0…chunks-1.
 */
export function bodyChunks(
  kind: CompletionKind,
  model: string,
  chunks: number,
  extras: AnswerExtras,
): object[] {
  if (kind === "text") return Array.from({ length: chunks }, (_, index) => contentChunk(kind, model, index));
  const deltas = answerDeltas(answerChunks(chunks), extras);
  const [first] = deltas;
  if (first !== undefined) deltas[0] = { role: "assistant", ...first };
  return deltas.map((delta) => deltaChunk(model, delta));
}

/**
 * The deltas of a chat answer, without a role: reasoning (one per word, in `reasoningField`), one per piece of
 * `content`, then per tool call a header and its argument pieces.
 */
export function answerDeltas(content: readonly string[], extras: AnswerExtras): Record<string, unknown>[] {
  const deltas: Record<string, unknown>[] = [];
  const field = extras.reasoningField ?? "reasoning_content";
  for (const piece of reasoningPieces(extras.reasoning ?? "")) deltas.push({ [field]: piece });
  for (const piece of content) deltas.push({ content: piece });
  for (const [index, call] of (extras.toolCalls ?? []).entries()) {
    const header = {
      index,
      id: toolCallId(call, index),
      type: "function",
      function: { name: call.name, arguments: "" },
    };
    deltas.push({ tool_calls: [header] });
    for (const piece of argumentPieces(call.arguments, index)) {
      deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] });
    }
  }
  return deltas;
}

/** Last content-less chunk with `finish_reason` (`stop`, or `tool_calls` when the answer calls tools). */
export function finishChunk(
  kind: CompletionKind,
  model: string,
  finishReason: "stop" | "tool_calls" = "stop",
): object {
  const choice =
    kind === "text"
      ? { index: 0, text: "", logprobs: null, finish_reason: finishReason }
      : { index: 0, delta: {}, logprobs: null, finish_reason: finishReason };
  return { ...envelope(kind, model, true), choices: [choice] };
}

/**
 * Usage chunk with empty `choices`. Chutes forces `stream_options.include_usage`, so it is always sent, whether
 * the request asked for it or not, after the finish chunk.
 */
export function usageChunk(kind: CompletionKind, model: string, usage: Usage): object {
  return { ...envelope(kind, model, true), choices: [], usage };
}

/** The whole stream after the body chunks: finish, usage, `[DONE]`. */
export function streamTail(
  kind: CompletionKind,
  model: string,
  usage: Usage,
  extras: AnswerExtras = {},
): string {
  const finish = finishChunk(kind, model, finishReasonOf(kind, extras));
  return toSseEvent(finish) + toSseEvent(usageChunk(kind, model, usage)) + SSE_DONE;
}

/**
 * Non-streamed `chat.completion` / `text_completion` with `chunks` pieces of content. A chat message also
 * carries the reasoning (when given) and the tool calls (when any; `content` is then null if there is none).
 */
export function completionBody(
  kind: CompletionKind,
  model: string,
  chunks: number,
  usage: Usage,
  extras: AnswerExtras = {},
): object {
  return completionBodyOf(kind, model, answerChunks(chunks).join(""), usage, extras);
}

/** `completionBody` with the content given as text. */
export function completionBodyOf(
  kind: CompletionKind,
  model: string,
  text: string,
  usage: Usage,
  extras: AnswerExtras = {},
): object {
  if (kind === "text") {
    const choice = { index: 0, text, logprobs: null, finish_reason: "stop" };
    return { ...envelope(kind, model, false), choices: [choice], usage };
  }
  const calls = extras.toolCalls ?? [];
  const message: Record<string, unknown> = {
    role: "assistant",
    content: calls.length > 0 && text === "" ? null : text,
  };
  if (extras.reasoning !== undefined)
    message[extras.reasoningField ?? "reasoning_content"] = extras.reasoning;
  if (calls.length > 0) {
    message.tool_calls = calls.map((call, index) => ({
      id: toolCallId(call, index),
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  const choice = { index: 0, message, logprobs: null, finish_reason: finishReasonOf(kind, extras) };
  return { ...envelope(kind, model, false), choices: [choice], usage };
}
