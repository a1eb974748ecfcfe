// vLLM's and SGLang's `continue_final_message`: a chat request whose last message is the assistant's unfinished
// answer asks the engine to go on from where that message stops instead of opening a new turn. The fake finds
// the prefix in its own deterministic answer and sends what follows it, cut at its own chunk boundaries; a
// prefix that is not part of that answer (or a `healthy` behaviour with `continuation: "restarts"`) gets the
// whole answer instead, as from a model that does not continue. Which requests ask, and vLLM's refusal of
// `add_generation_prompt` alongside, are decided here too.
import type { ContinuationMode } from "./behaviors.ts";
import { isRecord } from "./http-io.ts";
import {
  type AnswerExtras,
  answerChunks,
  answerDeltas,
  chunkText,
  completionBodyOf,
  countUsage,
  deltaChunk,
  extraTokens,
  finishChunk,
  finishReasonOf,
  type RenderedAnswer,
  SSE_DONE,
  toSseEvent,
  type Usage,
  usageChunk,
} from "./openai-payloads.ts";

/**
 * vLLM's `check_generation_prompt` validator: `add_generation_prompt` defaults to true, so a continuation must
 * turn it off. The router always sends `add_generation_prompt: false`.
 */
export const BOTH_GENERATION_FLAGS_BODY = JSON.stringify({
  object: "error",
  message: "Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
  type: "BadRequestError",
  param: null,
  code: 400,
});

/** What a chat request with `continue_final_message: true` gets: vLLM's refusal, or a continuation of `prefix`. */
export type ContinuationRequest = { kind: "refused"; body: string } | { kind: "continue"; prefix: string };

/** The continuation `request` asks for, or null when it does not set `continue_final_message` (or is not chat). */
export function continuationRequestOf(
  kind: "chat" | "text",
  request: Record<string, unknown>,
): ContinuationRequest | null {
  if (kind !== "chat" || request.continue_final_message !== true) return null;
  if (request.add_generation_prompt !== false) return { kind: "refused", body: BOTH_GENERATION_FLAGS_BODY };
  return { kind: "continue", prefix: finalAssistantText(request.messages) };
}

/** The text of the final message when it is the assistant's with string content; otherwise nothing to continue. */
function finalAssistantText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  const last: unknown = messages.at(-1);
  return isRecord(last) && last.role === "assistant" && typeof last.content === "string" ? last.content : "";
}

/**
 * The pieces that follow `prefix` in an answer made of `pieces`: the tail of the piece the prefix ends inside
 * (if it does), then every later piece. The prefix is compared without its trailing whitespace, as the chat
 * template cuts the prompt after the stripped final message. Null when it is not a prefix of the answer.
 */
export function piecesAfter(prefix: string, pieces: readonly string[]): string[] | null {
  const kept = prefix.trimEnd();
  if (!pieces.join("").startsWith(kept)) return null;
  const rest: string[] = [];
  let start = 0;
  for (const piece of pieces) {
    const end = start + piece.length;
    if (end > kept.length) rest.push(piece.slice(Math.max(0, kept.length - start)));
    start = end;
  }
  return rest;
}

/** The fewest chunks an answer needs for `prefix` (trailing whitespace aside) to fit inside it. */
export function chunksSpanning(prefix: string): number {
  const length = prefix.trimEnd().length;
  let chunks = 0;
  for (let covered = 0; covered < length; chunks += 1) covered += chunkText(chunks).length;
  return chunks;
}

/** What a continuation says: its content pieces, and the reasoning and tool calls that go with them. */
export type ContinuedAnswer = { content: string[]; extras: AnswerExtras };

/**
 * The answer to a continuation of `prefix` by a model whose whole answer is `chunks` chunks plus `extras`.
 * Continuing, it sends what follows the prefix and no reasoning (the prefix is content, thinking is over);
 * restarting (by `mode`, or because the prefix is not its answer's) it sends the whole answer, reasoning too.
 * Tool calls come after the content either way.
 */
export function continuedAnswer(
  prefix: string,
  mode: ContinuationMode,
  chunks: number,
  extras: AnswerExtras,
): ContinuedAnswer {
  const whole = answerChunks(chunks);
  const rest = mode === "continues" ? piecesAfter(prefix, whole) : null;
  if (rest === null) return { content: whole, extras };
  return { content: rest, extras: extras.toolCalls === undefined ? {} : { toolCalls: extras.toolCalls } };
}

/** A continuation is the engine's answer to a new request: its own `id` and `created`, unlike the fixed ones. */
export type Stamp = { id: string; created: number };

export function continuationStamp(invocationId: string): Stamp {
  return { id: `chatcmpl-fake-${invocationId}`, created: Math.floor(Date.now() / 1000) };
}

function stamped(chunk: object, stamp: Stamp): object {
  return { ...chunk, id: stamp.id, created: stamp.created };
}

/** Prompt tokens count the whole request, prefix included (the engine reads it again); completion, what follows. */
export function continuationUsage(requestBody: string, answer: ContinuedAnswer): Usage {
  return countUsage(requestBody, answer.content.length, extraTokens("chat", answer.extras));
}

/**
 * The continuation on the wire. Streamed: a role-only chunk `{"role":"assistant","content":""}` first (as vLLM
 * always opens), then one event per content piece and the tool calls, then finish, usage and `[DONE]`.
 * Not streamed: a `chat.completion` whose content is what follows the prefix.
 */
export function renderContinuation(
  model: string,
  answer: ContinuedAnswer,
  usage: Usage,
  stamp: Stamp,
): RenderedAnswer {
  const deltas = [{ role: "assistant", content: "" }, ...answerDeltas(answer.content, answer.extras)];
  const finish = finishChunk("chat", model, finishReasonOf("chat", answer.extras));
  const tail =
    toSseEvent(stamped(finish, stamp)) +
    toSseEvent(stamped(usageChunk("chat", model, usage), stamp)) +
    SSE_DONE;
  const body = completionBodyOf("chat", model, answer.content.join(""), usage, answer.extras);
  return {
    events: deltas.map((delta) => stamped(deltaChunk(model, delta), stamp)),
    tail,
    body: stamped(body, stamp),
  };
}
