// The one translation of an OpenAI chat-completion answer into Responses events (docs/contract.md §20): item
// order, ids, dense output indexes, the terminal event and usage are decided here and nowhere else. A streamed
// answer feeds it the upstream's chunks as they come (the shared framed stream writes each event as SSE); a
// whole answer feeds it the completion as the chunks a streaming upstream would have sent
// (protocols/completion-chunks.ts) and returns the response object its terminal event carries. Pure.
//
// What clients hold it to (research/responses-api-research.md §1, §4): Codex acts only on
// `response.output_item.done` and needs exactly one `response.completed`; the openai SDK's stream helper
// requires `response.created` first, each item `added` at the next index before its deltas, each part `added`
// before its deltas, matching item ids, and unique call ids.
import { completionChunks } from "../completion-chunks.ts";
import {
  type AnswerSoFar,
  chatAnswer,
  count,
  type EventMachine,
  isObject,
  nonEmpty,
} from "../framed-stream.ts";
import type { RequestEcho } from "./request.ts";
import type { ClientTool, ToolNames } from "./tool-names.ts";

type Json = Record<string, unknown>;

/** One Responses stream event: `{type, sequence_number, ...fields}`. */
export type ResponsesEvent = { type: string } & Json;

export interface ResponsesAnswerOptions {
  /** `resp_…`; item ids are made from it. */
  responseId: string;
  /** The model the client asked for, as the response reports it. */
  model: string;
  /** Unix seconds. */
  createdAt: number;
  /** Input tokens when the upstream reports no usage. */
  inputTokensEstimate: number;
  tools: ToolNames;
  echo: RequestEcho;
}

export interface ResponsesMachine extends EventMachine {
  /** The response object of the terminal event (completed, incomplete or failed); null before it. */
  readonly response: Json | null;
}

interface OpenItem {
  index: number;
  id: string;
  text: string;
}

interface ToolCall {
  /** Null until the call is announced (its `output_item.added`), which waits for the function's name. */
  index: number | null;
  id: string;
  callId: string;
  chatName: string;
  client: ClientTool;
  args: string;
  /** Upstream's id for the call, to tell a new call at a reused index. */
  upstreamId: string | null;
}

export function createResponsesMachine(
  options: ResponsesAnswerOptions,
  emit: (event: ResponsesEvent) => void,
): ResponsesMachine {
  const suffix = options.responseId.replace(/^resp_/, "");
  let sequence = 0;
  let final: Json | null = null;
  // Every item announced, by output index: its latest form (in progress, then done).
  const output: Json[] = [];
  let text: OpenItem | null = null;
  let reasoning: OpenItem | null = null;
  // Whitespace before any text item is open: held until real text comes (a model's "\n\n" after its tool
  // calls is not worth a message item).
  let heldWhitespace = "";
  // Every call in the order it began, and the one each upstream tool-call index now stands for.
  const calls: ToolCall[] = [];
  const callAt = new Map<number, ToolCall>();
  const callIds = new Set<string>();
  let itemCount = 0;
  let outputChars = 0;

  const send = (type: string, fields: Json) => emit({ type, sequence_number: sequence++, ...fields });
  const nextId = (prefix: string) => `${prefix}_${suffix}_${itemCount++}`;

  function snapshot(status: string, fields: Json = {}): Json {
    const { echo } = options;
    return {
      id: options.responseId,
      object: "response",
      created_at: options.createdAt,
      status,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: echo.instructions,
      max_output_tokens: echo.max_output_tokens,
      model: options.model,
      output: output.map((item) => ({ ...item })),
      parallel_tool_calls: echo.parallel_tool_calls,
      previous_response_id: null,
      reasoning: echo.reasoning,
      store: false,
      temperature: echo.temperature,
      text: echo.text,
      tool_choice: echo.tool_choice,
      tools: echo.tools,
      top_p: echo.top_p,
      truncation: "disabled",
      usage: null,
      user: null,
      metadata: echo.metadata,
      ...fields,
    };
  }

  function start(): void {
    send("response.created", { response: snapshot("in_progress") });
    send("response.in_progress", { response: snapshot("in_progress") });
  }

  function announce(item: Json): number {
    const index = output.length;
    output.push(item);
    send("response.output_item.added", { output_index: index, item: { ...item } });
    return index;
  }

  function done(index: number, item: Json): void {
    output[index] = item;
    send("response.output_item.done", { output_index: index, item: { ...item } });
  }

  function closeReasoning(): void {
    if (reasoning === null) return;
    const { index, id, text: summary } = reasoning;
    const at = { item_id: id, output_index: index, summary_index: 0 };
    send("response.reasoning_summary_text.done", { ...at, text: summary });
    send("response.reasoning_summary_part.done", { ...at, part: { type: "summary_text", text: summary } });
    done(index, { id, type: "reasoning", summary: [{ type: "summary_text", text: summary }] });
    reasoning = null;
  }

  function closeText(): void {
    if (text === null) return;
    const { index, id, text: content } = text;
    const at = { item_id: id, output_index: index, content_index: 0 };
    const part = { type: "output_text", text: content, annotations: [] };
    send("response.output_text.done", { ...at, text: content, logprobs: [] });
    send("response.content_part.done", { ...at, part });
    done(index, { id, type: "message", status: "completed", role: "assistant", content: [part] });
    text = null;
  }

  function writeReasoning(delta: string): void {
    outputChars += delta.length;
    if (reasoning === null) {
      closeText();
      const id = nextId("rs");
      const index = announce({ id, type: "reasoning", summary: [] });
      reasoning = { index, id, text: "" };
      const part = { type: "summary_text", text: "" };
      send("response.reasoning_summary_part.added", {
        item_id: id,
        output_index: index,
        summary_index: 0,
        part,
      });
    }
    reasoning.text += delta;
    const at = { item_id: reasoning.id, output_index: reasoning.index, summary_index: 0 };
    send("response.reasoning_summary_text.delta", { ...at, delta });
  }

  function writeText(delta: string): void {
    outputChars += delta.length;
    if (text === null) {
      if (delta.trim() === "") {
        heldWhitespace += delta;
        return;
      }
      closeReasoning();
      const id = nextId("msg");
      const index = announce({ id, type: "message", status: "in_progress", role: "assistant", content: [] });
      text = { index, id, text: "" };
      const part = { type: "output_text", text: "", annotations: [] };
      send("response.content_part.added", { item_id: id, output_index: index, content_index: 0, part });
      delta = heldWhitespace + delta;
      heldWhitespace = "";
    }
    text.text += delta;
    const at = { item_id: text.id, output_index: text.index, content_index: 0 };
    send("response.output_text.delta", { ...at, delta, logprobs: [] });
  }

  function callItem(call: ToolCall, status: string, args: string): Json {
    const { client } = call;
    const item: Json = client.custom
      ? {
          type: "custom_tool_call",
          id: call.id,
          call_id: call.callId,
          name: client.name,
          input: args,
          status,
        }
      : {
          type: "function_call",
          id: call.id,
          call_id: call.callId,
          name: client.name,
          arguments: args,
          status,
        };
    if (client.namespace !== null) item.namespace = client.namespace;
    return item;
  }

  /** Sends a call's `added` once its name is known (custom tools' input comes whole at the end). */
  function announceCall(call: ToolCall): void {
    if (call.index !== null) return;
    call.index = announce(callItem(call, "in_progress", ""));
    if (!call.client.custom && call.args !== "")
      send("response.function_call_arguments.delta", {
        item_id: call.id,
        output_index: call.index,
        delta: call.args,
      });
  }

  function onToolCall(delta: Json, position: number): void {
    const key = count(delta.index) ?? position;
    const fn = isObject(delta.function) ? delta.function : {};
    const upstreamId = nonEmpty(delta.id);
    let call = callAt.get(key);
    // Some upstreams reuse index 0 for every call, so a new id at a known index is a new call too.
    if (!call || (upstreamId !== null && call.upstreamId !== null && upstreamId !== call.upstreamId)) {
      closeReasoning();
      closeText();
      let callId = upstreamId ?? `call_${suffix}_${calls.length}`;
      // The openai SDK refuses two calls with one call_id.
      while (callIds.has(callId)) callId = `${callId}_${calls.length}`;
      callIds.add(callId);
      call = {
        index: null,
        id: "",
        callId,
        chatName: "",
        client: { name: "", namespace: null, custom: false },
        args: "",
        upstreamId,
      };
      calls.push(call);
      callAt.set(key, call);
    }
    const name = nonEmpty(fn.name);
    if (name !== null && call.index === null) {
      call.chatName = name;
      call.client = options.tools.resolve(name);
      call.id = nextId(call.client.custom ? "ctc" : "fc");
    }
    const args = nonEmpty(fn.arguments);
    if (args !== null) {
      outputChars += args.length;
      call.args += args;
    }
    if (call.index === null) {
      if (call.chatName !== "") announceCall(call);
    } else if (args !== null && !call.client.custom) {
      send("response.function_call_arguments.delta", {
        item_id: call.id,
        output_index: call.index,
        delta: args,
      });
    }
  }

  function onChoice(choice: Json): void {
    const delta = isObject(choice.delta) ? choice.delta : {};
    // vLLM renamed reasoning_content to reasoning; either one is the model's reasoning.
    const thought = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
    if (thought !== null) writeReasoning(thought);
    const content = nonEmpty(delta.content);
    if (content !== null) writeText(content);
    const toolCalls: unknown[] = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
    for (const [position, call] of toolCalls.entries()) if (isObject(call)) onToolCall(call, position);
  }

  function finalUsage({ usage }: AnswerSoFar): Json {
    const prompt = count(usage?.prompt_tokens);
    const promptDetails = usage?.prompt_tokens_details;
    const completionDetails = usage?.completion_tokens_details;
    const input = prompt ?? options.inputTokensEstimate;
    const outputTokens = count(usage?.completion_tokens) ?? Math.ceil(outputChars / 4);
    return {
      input_tokens: input,
      input_tokens_details: {
        cached_tokens: (isObject(promptDetails) ? count(promptDetails.cached_tokens) : null) ?? 0,
      },
      output_tokens: outputTokens,
      output_tokens_details: {
        reasoning_tokens:
          (isObject(completionDetails) ? count(completionDetails.reasoning_tokens) : null) ?? 0,
      },
      total_tokens: input + outputTokens,
    };
  }

  /** Closes every call; a function call whose arguments do not parse was cut off and is left incomplete. */
  function closeCalls(): boolean {
    let cut = false;
    const ordered = [...calls].sort((a, b) => (a.index ?? Infinity) - (b.index ?? Infinity));
    for (const call of ordered) {
      if (call.index === null) {
        // A call whose name never came: announced now, under the name the model gave (none).
        call.id = nextId("fc");
        call.client = options.tools.resolve(call.chatName);
        announceCall(call);
      }
      const index = call.index as number;
      const at = { item_id: call.id, output_index: index };
      if (call.client.custom) {
        const input = customInput(call.args);
        send("response.custom_tool_call_input.delta", { ...at, delta: input });
        send("response.custom_tool_call_input.done", { ...at, input });
        done(index, callItem(call, "completed", input));
        continue;
      }
      const args = call.args.trim() === "" ? "{}" : call.args;
      if (!parsesAsObject(args)) {
        // Never `done`: Codex runs a call on its done event, and these arguments are not whole.
        cut = true;
        output[index] = callItem(call, "incomplete", call.args);
        continue;
      }
      send("response.function_call_arguments.done", { ...at, name: call.client.name, arguments: args });
      done(index, callItem(call, "completed", args));
    }
    return cut;
  }

  const machine = chatAnswer({
    open: start,
    choice: onChoice,
    close(so) {
      closeReasoning();
      closeText();
      const cut = closeCalls();
      const reason =
        cut || so.finishReason === "length"
          ? "max_output_tokens"
          : so.finishReason === "content_filter"
            ? "content_filter"
            : null;
      const fields: Json = { usage: finalUsage(so) };
      if (reason !== null) fields.incomplete_details = { reason };
      final = snapshot(reason === null ? "completed" : "incomplete", fields);
      send(reason === null ? "response.completed" : "response.incomplete", { response: final });
    },
    failed(message, _overloaded, so) {
      // Open items are left without their done events: the client must not act on half an answer.
      for (const [index, item] of output.entries())
        if (item.status === "in_progress") output[index] = { ...item, status: "incomplete" };
      // server_error: Codex retries the turn on it.
      send("error", { code: "server_error", message, param: null });
      final = snapshot("failed", { error: { code: "server_error", message }, usage: finalUsage(so) });
      send("response.failed", { response: final });
    },
  });
  return Object.defineProperty(machine, "response", { get: () => final }) as ResponsesMachine;
}

/** A custom tool's input: the `input` string the model was asked for, else its raw arguments. */
function customInput(args: string): string {
  try {
    const value: unknown = JSON.parse(args);
    if (isObject(value) && typeof value.input === "string") return value.input;
  } catch {
    // Not JSON: the model wrote the input itself.
  }
  return args;
}

function parsesAsObject(text: string): boolean {
  try {
    return isObject(JSON.parse(text));
  } catch {
    return false;
  }
}

/**
 * The response object for a whole (non-streamed) chat completion: the completion read as chunks through the
 * same translation a stream takes, so the two never disagree. Null when the body is not a chat completion.
 */
export function translateResponse(completion: unknown, options: ResponsesAnswerOptions): Json | null {
  const chunks = completionChunks(completion);
  if (chunks === null) return null;
  const machine = createResponsesMachine(options, () => {});
  for (const chunk of chunks) machine.chunk(chunk);
  machine.end();
  return machine.response;
}
