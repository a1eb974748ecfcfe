// Re-frames an upstream OpenAI chat-completions SSE stream as Anthropic Messages SSE events (docs/contract.md
// §14): one block open at a time with dense indexes, stop_reason and usage held until the upstream's usage
// chunk. Pure; it takes the upstream's events as the relay reads them (core/event-stream.ts), so it does not
// depend on how the bytes were split, and the relay decides when the upstream ended or broke.
import { formatSseText, type SseEvent } from "../../core/event-stream.ts";
import { encodeToolId } from "./tool-ids.ts";

/** What the re-framer needs to know about the request. */
export interface AnthropicStreamOptions {
  /** The model name reported in message_start (what the client asked for). */
  model: string;
  /** The message id, e.g. "msg_" + something; given by the caller. */
  messageId: string;
  /** Estimated input tokens for message_start before the real usage arrives. */
  inputTokensEstimate: number;
  /** The request's stop_sequences, to report stop_reason "stop_sequence" with the matched one. */
  stopSequences: readonly string[];
  /** `thinking.display: "omitted"`: thinking blocks open and close as Anthropic sends them, without text. */
  omitThinking?: boolean;
}

/** The re-framer the relay drives: push per upstream chunk, then finish or fail exactly once. */
export interface AnthropicStream {
  /** Feeds the upstream's next whole events; returns the Anthropic SSE bytes to send now (possibly empty). */
  push(events: readonly SseEvent[]): Uint8Array;
  /** The upstream ended cleanly: closes any open block, sends message_delta (stop_reason, final usage) and message_stop. */
  finish(): Uint8Array;
  /** The upstream failed after commit: closes the open block if any, then `event: error` with {"type":"error","error":{"type":"api_error","message":...}} (type "overloaded_error" when `overloaded` is true). Nothing after it. */
  fail(message: string, overloaded?: boolean): Uint8Array;
  /** Whether the stream was ended by an upstream error event rather than a clean end. */
  erred(): boolean;
}

type Json = Record<string, unknown>;
type BlockKind = "thinking" | "text" | "tool_use";

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const nonEmpty = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? value : null;
const count = (value: unknown): number | null => (typeof value === "number" ? value : null);

/** A re-framer for one streamed answer; each call returns the bytes to send for what it was given. */
export function createAnthropicStream(options: AnthropicStreamOptions): AnthropicStream {
  const encoder = new TextEncoder();
  let out = "";
  let started = false;
  let ended = false;
  let erred = false;
  let open: { kind: BlockKind; index: number } | null = null;
  let nextIndex = 0;
  // OpenAI tool-call index → its upstream id and Anthropic block index; later argument deltas name only the index.
  const tools = new Map<number, { id: string; index: number }>();
  let finishReason: string | null = null;
  let matchedStop: string | null = null;
  let usage: Json | null = null;
  let outputChars = 0;

  const send = (type: string, fields: Json = {}) => {
    out += formatSseText(JSON.stringify({ type, ...fields }), type);
  };
  const take = (): Uint8Array => {
    const bytes = encoder.encode(out);
    out = "";
    return bytes;
  };

  function start(): void {
    if (started) return;
    started = true;
    const { messageId: id, model, inputTokensEstimate } = options;
    const usage = { input_tokens: inputTokensEstimate, output_tokens: 0 };
    const message = { id, type: "message", role: "assistant", model, content: [], stop_reason: null };
    send("message_start", { message: { ...message, stop_sequence: null, usage } });
  }

  function close(): void {
    if (open) send("content_block_stop", { index: open.index });
    open = null;
  }

  function openBlock(kind: BlockKind, contentBlock: Json): number {
    close();
    const index = nextIndex++;
    open = { kind, index };
    send("content_block_start", { index, content_block: contentBlock });
    return index;
  }

  function write(kind: "thinking" | "text", text: string): void {
    const index =
      open?.kind === kind
        ? open.index
        : kind === "text"
          ? openBlock(kind, { type: "text", text: "" })
          : openBlock(kind, { type: "thinking", thinking: "", signature: "" });
    outputChars += text.length;
    if (kind === "thinking" && options.omitThinking) return;
    const delta = kind === "text" ? { type: "text_delta", text } : { type: "thinking_delta", thinking: text };
    send("content_block_delta", { index, delta });
  }

  function onToolCall(call: Json, position: number): void {
    const key = count(call.index) ?? position;
    const fn = isObject(call.function) ? call.function : {};
    const id = nonEmpty(call.id);
    let tool = tools.get(key);
    // Some upstreams reuse index 0 for every call, so a new id at a known index is a new call too.
    if (!tool || (id !== null && id !== tool.id)) {
      const upstreamId = id ?? `${options.messageId}_tool_${nextIndex}`;
      const name = typeof fn.name === "string" ? fn.name : "";
      const block = { type: "tool_use", id: encodeToolId(upstreamId), name, input: {} };
      tool = { id: upstreamId, index: openBlock("tool_use", block) };
      tools.set(key, tool);
    }
    const args = nonEmpty(fn.arguments);
    // Anthropic never reopens a block: arguments for a call whose block is closed (interleaved calls) are dropped.
    if (args === null || open?.index !== tool.index) return;
    outputChars += args.length;
    send("content_block_delta", {
      index: tool.index,
      delta: { type: "input_json_delta", partial_json: args },
    });
  }

  function onChoice(choice: Json): void {
    const delta = isObject(choice.delta) ? choice.delta : {};
    // vLLM renamed reasoning_content to reasoning; either one is thinking.
    const reasoning = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
    if (reasoning !== null) write("thinking", reasoning);
    const text = nonEmpty(delta.content);
    if (text !== null) write("text", text);
    const calls: unknown[] = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
    for (const [position, call] of calls.entries()) if (isObject(call)) onToolCall(call, position);
    if (typeof choice.finish_reason === "string") finishReason = choice.finish_reason;
    // vLLM names the stop string that ended the answer in its own `stop_reason` field.
    const stop = choice.stop_reason;
    if (typeof stop === "string" && options.stopSequences.includes(stop)) matchedStop = stop;
  }

  function onChunk(chunk: Json): void {
    start();
    if (isObject(chunk.usage)) usage = chunk.usage;
    const choices: unknown[] = Array.isArray(chunk.choices) ? chunk.choices : [];
    const finishedBefore = finishReason !== null;
    for (const choice of choices) {
      // The router asks for one choice; any other would interleave into the same blocks.
      if (isObject(choice) && (count(choice.index) ?? 0) === 0) onChoice(choice);
    }
    // include_usage sends the usage after the finish_reason, in a chunk of its own with no choices.
    if (finishedBefore && isObject(chunk.usage) && choices.length === 0) end();
  }

  function stopReason(): { stop_reason: string; stop_sequence: string | null } {
    // A tool block means the client must answer it, whatever the upstream said (vLLM forced calls end "stop").
    if (tools.size > 0) return { stop_reason: "tool_use", stop_sequence: null };
    if (finishReason === "length") return { stop_reason: "max_tokens", stop_sequence: null };
    if (finishReason === "stop" && matchedStop !== null) {
      return { stop_reason: "stop_sequence", stop_sequence: matchedStop };
    }
    // "tool_calls" with no tool block sent is end_turn: tool_use would make the client look for a call.
    return { stop_reason: "end_turn", stop_sequence: null };
  }

  // Without upstream usage the input is the caller's estimate and the output a count of characters / 4.
  function finalUsage(): Json {
    const prompt = count(usage?.prompt_tokens);
    const details = usage?.prompt_tokens_details;
    const cached = (isObject(details) ? count(details.cached_tokens) : null) ?? 0;
    return {
      input_tokens: prompt === null ? options.inputTokensEstimate : Math.max(0, prompt - cached),
      output_tokens: count(usage?.completion_tokens) ?? Math.ceil(outputChars / 4),
      cache_read_input_tokens: cached,
    };
  }

  function end(): void {
    start();
    close();
    send("message_delta", { delta: stopReason(), usage: finalUsage() });
    send("message_stop");
    ended = true;
  }

  function abort(message: string, overloaded: boolean): void {
    erred = true;
    start();
    close();
    send("error", { error: { type: overloaded ? "overloaded_error" : "api_error", message } });
    ended = true;
  }

  function onEvent(event: SseEvent): void {
    const data = event.data?.trim();
    if (data === undefined || data === "") return;
    if (data === "[DONE]") {
      end();
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(payload)) return;
    const error = payload.error;
    if (error !== undefined && error !== null) {
      const message = isObject(error) ? nonEmpty(error.message) : nonEmpty(error);
      abort(message ?? "The upstream stream failed", false);
    } else {
      onChunk(payload);
    }
  }

  return {
    push(events) {
      for (const event of events) {
        if (ended) break;
        onEvent(event);
      }
      return take();
    },
    finish() {
      if (ended) return new Uint8Array();
      end();
      return take();
    },
    fail(message, overloaded = false) {
      if (ended) return new Uint8Array();
      abort(message, overloaded);
      return take();
    },
    erred: () => erred,
  };
}
