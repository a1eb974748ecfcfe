// The one translation of an OpenAI chat-completion answer into Anthropic Messages events (docs/contract.md
// §14): block order, dense indexes, stop_reason and usage are decided here and nowhere else. A streamed answer
// feeds it the upstream's chunks as they come and frames each event as SSE (stream.ts); a whole answer feeds it
// the completion as the chunks a streaming upstream would have sent (completion-chunks.ts) and assembles the
// events into one message (response.ts). So both translations follow the same rules by construction. Pure.
import {
  type AnswerSoFar,
  chatAnswer,
  count,
  type EventMachine,
  isObject,
  nonEmpty,
} from "../framed-stream.ts";
import { encodeToolId } from "./tool-ids.ts";

type Json = Record<string, unknown>;

/** One Anthropic Messages event: `{type, ...fields}`, as it goes into an SSE `data:` line. */
export type AnthropicEvent = { type: string } & Json;

/** What the translation needs to know about the request. */
export interface AnswerOptions {
  /** The model name reported in message_start (what the client asked for). */
  model: string;
  /** The message id, e.g. "msg_" + something; given by the caller. */
  messageId: string;
  /** Estimated input tokens: message_start's, and the final usage's when the upstream reports none. */
  inputTokensEstimate: number;
  /** The request's stop_sequences, to report stop_reason "stop_sequence" with the matched one. */
  stopSequences: readonly string[];
  /** `thinking.display: "omitted"`: thinking blocks open and close as Anthropic sends them, without text. */
  omitThinking?: boolean;
}

/**
 * The translation of one answer; it emits Anthropic events to the sink it was made with. `end` closes the open
 * block, then message_delta and message_stop; `fail` closes the open block, then `error` (overloaded_error or
 * api_error).
 */
export type AnswerMachine = EventMachine;

type BlockKind = "thinking" | "text" | "tool_use";

export function createAnswerMachine(
  options: AnswerOptions,
  emit: (event: AnthropicEvent) => void,
): AnswerMachine {
  let open: { kind: BlockKind; index: number } | null = null;
  let nextIndex = 0;
  // OpenAI tool-call index → its upstream id, Anthropic block index and the arguments sent so far; later
  // argument deltas name only the index.
  const tools = new Map<number, { id: string; index: number; args: string }>();
  let matchedStop: string | null = null;
  let outputChars = 0;

  const send = (type: string, fields: Json = {}) => emit({ type, ...fields });

  function start(): void {
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
          : // Claude Code refuses a thinking block without a signature; an empty one is accepted.
            openBlock(kind, { type: "thinking", thinking: "", signature: "" });
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
      tool = { id: upstreamId, index: openBlock("tool_use", block), args: "" };
      tools.set(key, tool);
    }
    const args = nonEmpty(fn.arguments);
    // Anthropic never reopens a block: arguments for a call whose block is closed (interleaved calls) are dropped.
    if (args === null || open?.index !== tool.index) return;
    outputChars += args.length;
    tool.args += args;
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
    // vLLM names the stop string that ended the answer in its own `stop_reason` field.
    const stop = choice.stop_reason;
    if (typeof stop === "string" && options.stopSequences.includes(stop)) matchedStop = stop;
  }

  function stopReason({ finishReason }: AnswerSoFar): { stop_reason: string; stop_sequence: string | null } {
    // Arguments that do not parse mean the answer was cut off (vLLM can report that as a plain stop), so the
    // client must not run the call; this outranks tool_use.
    for (const tool of tools.values()) {
      if (parseToolInput(tool.args) === null) return { stop_reason: "max_tokens", stop_sequence: null };
    }
    // A tool block means the client must answer it, whatever the upstream said (vLLM forced calls end "stop").
    if (tools.size > 0) return { stop_reason: "tool_use", stop_sequence: null };
    if (finishReason === "length") return { stop_reason: "max_tokens", stop_sequence: null };
    if (finishReason === "stop" && matchedStop !== null) {
      return { stop_reason: "stop_sequence", stop_sequence: matchedStop };
    }
    // "tool_calls" with no tool block sent is end_turn: tool_use would make the client look for a call;
    // content_filter has no Anthropic counterpart and ends the turn.
    return { stop_reason: "end_turn", stop_sequence: null };
  }

  // Without upstream usage the input is the caller's estimate and the output a count of characters / 4.
  function finalUsage({ usage }: AnswerSoFar): Json {
    const prompt = count(usage?.prompt_tokens);
    const details = usage?.prompt_tokens_details;
    const cached = (isObject(details) ? count(details.cached_tokens) : null) ?? 0;
    return {
      input_tokens: prompt === null ? options.inputTokensEstimate : Math.max(0, prompt - cached),
      output_tokens: count(usage?.completion_tokens) ?? Math.ceil(outputChars / 4),
      cache_read_input_tokens: cached,
    };
  }

  return chatAnswer({
    open: start,
    choice: onChoice,
    close(so) {
      close();
      send("message_delta", { delta: stopReason(so), usage: finalUsage(so) });
      send("message_stop");
    },
    failed(message, overloaded) {
      close();
      send("error", { error: { type: overloaded ? "overloaded_error" : "api_error", message } });
    },
  });
}

/** A tool call's input: {} for empty arguments, or null when they are not a JSON object. */
export function parseToolInput(text: string): Record<string, unknown> | null {
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * One message from a complete sequence of events, as an Anthropic client assembles a stream: blocks in order,
 * text and thinking joined, tool input parsed from its JSON ({} when it does not parse), stop and usage from
 * message_delta. Null when the events ended in an error.
 */
export function assembleMessage(events: readonly AnthropicEvent[]): Json | null {
  let message = null as Json | null;
  const content: Json[] = [];
  const toolJson = new Map<number, string>();
  for (const event of events) {
    switch (event.type) {
      case "message_start":
        message = { ...(event.message as Json) };
        break;
      case "content_block_start":
        content[event.index as number] = { ...(event.content_block as Json) };
        break;
      case "content_block_delta": {
        const index = event.index as number;
        const block = content[index];
        const delta = event.delta as Json;
        if (block === undefined) break;
        if (delta.type === "text_delta") block.text = `${block.text}${delta.text}`;
        else if (delta.type === "thinking_delta") block.thinking = `${block.thinking}${delta.thinking}`;
        else if (delta.type === "input_json_delta")
          toolJson.set(index, `${toolJson.get(index) ?? ""}${delta.partial_json}`);
        break;
      }
      case "message_delta":
        if (message) message = { ...message, ...(event.delta as Json), usage: event.usage };
        break;
      case "error":
        return null;
    }
  }
  for (const [index, json] of toolJson) {
    const block = content[index];
    if (block) block.input = parseToolInput(json) ?? {};
  }
  return message && { ...message, content };
}
