// What a streamed OpenAI answer has said so far (docs/contract.md §7): its text, its reasoning and its tool
// calls, gathered from the deltas of the events the client was sent, up to a cap. Whoever needs the content
// of an answer in flight subscribes to the relay with one of these: what recording keeps, what a resumed
// stream asks the next model to continue from. An answer's events are parsed only when someone subscribed.
import type { SseEvent } from "./event-stream.ts";

export interface ToolCallSoFar {
  index: number;
  id: string | null;
  name: string;
  arguments: string;
}

export interface AnswerContent {
  text: string;
  reasoning: string;
  toolCalls: ToolCallSoFar[];
  /** The finish_reason, once one came. */
  finishReason: string | null;
  /** Characters kept (text, reasoning and arguments); nothing more is kept past the cap. */
  chars: number;
  /** Something was left out: the cap was reached. */
  truncated: boolean;
}

export interface ContentAccumulator {
  /** Takes the answer's next events (those that are not chat or text completion chunks count for nothing). */
  onEvents(events: readonly SseEvent[]): void;
  /** Takes one parsed chunk (what an event's data holds). */
  onChunk(chunk: unknown): void;
  /** The content so far (a copy). */
  snapshot(): AnswerContent;
}

/** Keep at most this many characters of an answer unless told otherwise. */
export const DEFAULT_CONTENT_CAP_CHARS = 1024 * 1024;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function createContentAccumulator(capChars = DEFAULT_CONTENT_CAP_CHARS): ContentAccumulator {
  let text = "";
  let reasoning = "";
  const calls = new Map<number, ToolCallSoFar>();
  let finishReason: string | null = null;
  let chars = 0;
  let truncated = false;

  /** As much of `piece` as the cap still allows. */
  const keep = (piece: unknown): string => {
    if (typeof piece !== "string" || piece === "") return "";
    const room = capChars - chars;
    if (piece.length > room) truncated = true;
    const kept = piece.length > room ? piece.slice(0, Math.max(0, room)) : piece;
    chars += kept.length;
    return kept;
  };

  const onChoice = (choice: Json) => {
    // A text completion carries `text`; a chat completion a `delta`.
    text += keep(choice.text);
    const delta = isObject(choice.delta) ? choice.delta : {};
    text += keep(delta.content);
    reasoning += keep(delta.reasoning_content ?? delta.reasoning);
    const toolCalls: unknown[] = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
    for (const [position, call] of toolCalls.entries()) {
      if (!isObject(call)) continue;
      const index = typeof call.index === "number" ? call.index : position;
      const fn = isObject(call.function) ? call.function : {};
      let entry = calls.get(index);
      if (!entry) {
        entry = { index, id: null, name: "", arguments: "" };
        calls.set(index, entry);
      }
      if (typeof call.id === "string" && call.id !== "") entry.id = call.id;
      if (typeof fn.name === "string" && fn.name !== "") entry.name = fn.name;
      entry.arguments += keep(fn.arguments);
    }
    if (typeof choice.finish_reason === "string") finishReason = choice.finish_reason;
  };

  const onChunk = (chunk: unknown) => {
    if (!isObject(chunk) || !Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) {
      // The router asks for one choice; another would be a different answer.
      if (isObject(choice) && (choice.index ?? 0) === 0) onChoice(choice);
    }
  };

  return {
    onChunk,
    onEvents(events) {
      for (const event of events) {
        if (!event.startsWithData) continue;
        const data = event.data;
        if (data === null || data.trim() === "[DONE]") continue;
        let chunk: unknown;
        try {
          chunk = JSON.parse(data);
        } catch {
          continue;
        }
        onChunk(chunk);
      }
    },
    snapshot: () => ({
      text,
      reasoning,
      toolCalls: [...calls.values()].map((call) => ({ ...call })),
      finishReason,
      chars,
      truncated,
    }),
  };
}

/**
 * The content of a whole (non-streamed) chat or text completion body, as an accumulator would have gathered
 * it from the same answer streamed; null when the body is not one.
 */
export function answerFromJson(body: string, capChars = DEFAULT_CONTENT_CAP_CHARS): AnswerContent | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isObject(parsed) || !Array.isArray(parsed.choices)) return null;
  const choice = parsed.choices.find((item) => isObject(item) && (item.index ?? 0) === 0);
  if (!isObject(choice)) return null;
  const message = isObject(choice.message) ? choice.message : {};
  // The same answer as one chunk whose delta is the whole message.
  const accumulator = createContentAccumulator(capChars);
  const calls = Array.isArray(message.tool_calls)
    ? message.tool_calls.map((call, index) => (isObject(call) ? { index, ...call } : call))
    : undefined;
  accumulator.onChunk({ choices: [{ ...choice, index: 0, delta: { ...message, tool_calls: calls } }] });
  return accumulator.snapshot();
}
