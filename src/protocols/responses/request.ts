// OpenAI Responses request → OpenAI chat-completions body (docs/contract.md §20). Validates what it reads,
// refuses what needs state the router does not keep, and drops what Chutes cannot run (hosted tools and their
// items), so that Codex keeps working. Routing, the model and the upstream call are left to the route. Pure.
import * as v from "valibot";
import { describeIssue, fallbackMessage } from "../schema-issues.ts";
import {
  CONTENT_PART,
  type ContentPart,
  CUSTOM_TOOL,
  CUSTOM_TOOL_CALL_ITEM,
  FUNCTION_CALL_ITEM,
  FUNCTION_TOOL,
  IMAGE_PART,
  MESSAGE_ITEM,
  NAMESPACE_TOOL,
  RESPONSES_REQUEST,
  type ResponsesRequest,
  TEXT_PART,
  TOOL_OUTPUT_ITEM,
} from "./request-schema.ts";
import { chatToolName, ToolNames } from "./tool-names.ts";

type Json = Record<string, unknown>;

/** What the response object echoes of the request (OpenAI's `Response` carries them). */
export interface RequestEcho {
  instructions: string | null;
  max_output_tokens: number | null;
  temperature: number | null;
  top_p: number | null;
  parallel_tool_calls: boolean;
  tool_choice: unknown;
  tools: unknown[];
  text: unknown;
  reasoning: { effort: string | null; summary: string | null };
  metadata: unknown;
}

/** A refusal: what to tell the client, the request field it is about, and OpenAI's code when it has one. */
export interface Refusal {
  ok: false;
  message: string;
  param: string | null;
  code?: string;
}

export type TranslatedRequest =
  | {
      ok: true;
      model: string;
      stream: boolean;
      /** The OpenAI chat body, without `model` (the route sets it per attempt). */
      chat: Json;
      /** The client's tools by chat name, to read the model's calls back. */
      tools: ToolNames;
      /** `prompt_cache_key`: Codex's session id, a sticky key. */
      promptCacheKey: string | null;
      echo: RequestEcho;
    }
  | Refusal;

// Hosted tools run by OpenAI's servers: Chutes has none of them, so they are left out of the model's tools.
const HOSTED_TOOLS = new Set([
  "web_search",
  "web_search_preview",
  "web_search_preview_2025_03_11",
  "file_search",
  "code_interpreter",
  "image_generation",
  "computer_use_preview",
  "computer",
  "mcp",
  "local_shell",
  "shell",
  "apply_patch",
  "tool_search",
]);

const isRefusal = (value: object): value is Refusal => (value as { ok?: unknown }).ok === false;

const refuse = (message: string, param: string | null, code?: string): Refusal =>
  code === undefined ? { ok: false, message, param } : { ok: false, message, param, code };

/** Validates a Responses body and translates it into an OpenAI chat body. */
export function translateRequest(body: unknown): TranslatedRequest {
  const parsed = v.safeParse(RESPONSES_REQUEST, body, { message: fallbackMessage });
  if (!parsed.success) {
    const issue = parsed.issues[0];
    return refuse(describeIssue(issue), topField(issue));
  }
  const request = parsed.output;
  const stateful = statefulRefusal(request);
  if (stateful) return stateful;

  const tools = new ToolNames();
  const chatTools = translateTools(request.tools ?? [], tools);
  if (!Array.isArray(chatTools)) return chatTools;
  const messages = translateInput(request);
  if (!Array.isArray(messages)) return messages;

  const chat: Json = { messages };
  if (request.max_output_tokens != null) chat.max_tokens = request.max_output_tokens;
  if (request.temperature != null) chat.temperature = request.temperature;
  if (request.top_p != null) chat.top_p = request.top_p;
  const choice = toolChoice(request.tool_choice, chatTools);
  if (isRefusal(choice)) return choice;
  // Sent only beside tools: vLLM refuses tool_choice when the request has none.
  if (choice.tools.length > 0) {
    chat.tools = choice.tools;
    if (choice.choice !== undefined) chat.tool_choice = choice.choice;
    if (request.parallel_tool_calls != null) chat.parallel_tool_calls = request.parallel_tool_calls;
  }
  const effort = reasoningEffort(request.reasoning?.effort);
  if (effort !== null) chat.reasoning_effort = effort;
  const format = request.text?.format;
  if (format?.type === "json_object") chat.response_format = { type: "json_object" };
  if (format?.type === "json_schema") {
    const schema: Json = { name: format.name ?? "output", schema: format.schema };
    if (format.strict != null) schema.strict = format.strict;
    if (format.description != null) schema.description = format.description;
    chat.response_format = { type: "json_schema", json_schema: schema };
  }
  const stream = request.stream === true;
  // Usage arrives in a stream's last chunk only when asked for; response.completed carries it.
  if (stream) Object.assign(chat, { stream: true, stream_options: { include_usage: true } });

  return {
    ok: true,
    model: request.model,
    stream,
    chat,
    tools,
    promptCacheKey: request.prompt_cache_key ?? null,
    echo: {
      instructions: request.instructions ?? null,
      max_output_tokens: request.max_output_tokens ?? null,
      temperature: request.temperature ?? null,
      top_p: request.top_p ?? null,
      parallel_tool_calls: request.parallel_tool_calls ?? true,
      tool_choice: request.tool_choice ?? "auto",
      tools: request.tools ?? [],
      text: request.text ?? { format: { type: "text" } },
      reasoning: { effort: request.reasoning?.effort ?? null, summary: request.reasoning?.summary ?? null },
      metadata: request.metadata ?? {},
    },
  };
}

/** The request's top-level field an issue is about. */
function topField(issue: v.BaseIssue<unknown> | undefined): string | null {
  const key = issue?.path?.[0]?.key;
  return typeof key === "string" ? key : null;
}

/**
 * The router keeps no responses (docs/contract.md §20): whatever would need one stored is refused in OpenAI's
 * words, so a client that can fall back to sending the whole conversation does.
 */
function statefulRefusal(request: ResponsesRequest): Refusal | null {
  const previous = request.previous_response_id;
  if (previous != null && previous !== "") {
    return refuse(
      `Previous response with id '${previous}' not found. This router does not store responses: send the whole conversation in \`input\`.`,
      "previous_response_id",
      "previous_response_not_found",
    );
  }
  if (request.conversation != null)
    return refuse(
      "Conversations are not supported: this router does not store them. Send the whole conversation in `input`.",
      "conversation",
    );
  if (request.background === true)
    return refuse(
      "Background responses are not supported: this router does not store responses.",
      "background",
    );
  if (request.prompt != null)
    return refuse("Stored prompts are not supported: send the prompt's text in `instructions`.", "prompt");
  return null;
}

/**
 * The client's tools as chat functions. Hosted tools (web_search and the like) are left out: nothing on Chutes
 * runs them, and a coding agent works on without them. So are kinds the router does not know, which a newer
 * client may send: it works on without them too, where a refusal would stop it.
 */
function translateTools(all: readonly unknown[], names: ToolNames): Json[] | Refusal {
  const out: Json[] = [];
  for (const [index, tool] of all.entries()) {
    const type = (tool as Json).type;
    if (type === "function" || type === "custom") {
      const translated = translateTool(tool, null, names, `tools.${index}`);
      if (isRefusal(translated)) return translated;
      out.push(translated);
    } else if (type === "namespace") {
      const parsed = v.safeParse(NAMESPACE_TOOL, tool, { message: fallbackMessage });
      if (!parsed.success) return refuse(describeIssue(parsed.issues[0], ["tools", String(index)]), "tools");
      for (const [position, child] of parsed.output.tools.entries()) {
        if (child.type !== "function" && child.type !== "custom") continue;
        const path = `tools.${index}.tools.${position}`;
        const translated = translateTool(child, parsed.output.name, names, path);
        if (isRefusal(translated)) return translated;
        out.push(translated);
      }
    } else if (typeof type !== "string") {
      return refuse(`tools.${index}.type: must be a string`, "tools");
    }
    // Hosted tools, and kinds this router does not know (a newer client's), are left out.
  }
  return out;
}

function translateTool(
  tool: unknown,
  namespace: string | null,
  names: ToolNames,
  path: string,
): Json | Refusal {
  const at = path.split(".");
  if ((tool as Json).type === "custom") {
    const parsed = v.safeParse(CUSTOM_TOOL, tool, { message: fallbackMessage });
    if (!parsed.success) return refuse(describeIssue(parsed.issues[0], at), "tools");
    const { name, description, format } = parsed.output;
    const chatName = names.add({ name, namespace, custom: true });
    return functionTool(chatName, customDescription(description ?? "", format), {
      type: "object",
      properties: { input: { type: "string", description: "The tool's whole input, as free text." } },
      required: ["input"],
      additionalProperties: false,
    });
  }
  const parsed = v.safeParse(FUNCTION_TOOL, tool, { message: fallbackMessage });
  if (!parsed.success) return refuse(describeIssue(parsed.issues[0], at), "tools");
  const { name, description, parameters } = parsed.output;
  const chatName = names.add({ name, namespace, custom: false });
  return functionTool(chatName, description ?? "", parameters ?? { type: "object", properties: {} });
}

function functionTool(name: string, description: string, parameters: Json): Json {
  return { type: "function", function: { name, description, parameters } };
}

/** A custom tool's description, with the grammar its input must follow when it has one. */
function customDescription(description: string, format: Json | null | undefined): string {
  if (format?.type !== "grammar" || typeof format.definition !== "string") return description;
  const syntax = typeof format.syntax === "string" ? format.syntax : "grammar";
  return `${description}\n\nThe input must match this ${syntax} grammar:\n${format.definition}`.trim();
}

/**
 * `tool_choice` for the chat body, and the tools it leaves callable (`allowed_tools` narrows them). Forcing a
 * hosted tool is refused: the model could never call it.
 */
function toolChoice(
  choice: ResponsesRequest["tool_choice"],
  tools: Json[],
): { tools: Json[]; choice?: unknown } | Refusal {
  if (choice == null || typeof choice === "string") return { tools, choice: choice ?? undefined };
  const type = choice.type;
  if (type === "function" || type === "custom") {
    if (typeof choice.name !== "string" || choice.name === "")
      return refuse("tool_choice.name: is required", "tool_choice");
    const namespace = typeof choice.namespace === "string" ? choice.namespace : null;
    return { tools, choice: { type: "function", function: { name: chatToolName(choice.name, namespace) } } };
  }
  if (type === "allowed_tools") {
    const allowed = new Set<string>();
    for (const tool of Array.isArray(choice.tools) ? (choice.tools as Json[]) : []) {
      if (typeof tool?.name !== "string") continue;
      allowed.add(chatToolName(tool.name, typeof tool.namespace === "string" ? tool.namespace : null));
    }
    const kept = tools.filter((tool) => allowed.has((tool.function as Json).name as string));
    return { tools: kept, choice: choice.mode === "required" ? "required" : "auto" };
  }
  if (typeof type === "string" && HOSTED_TOOLS.has(type))
    return refuse(
      `tool_choice: forces the hosted tool "${type}", which nothing on Chutes runs`,
      "tool_choice",
    );
  return refuse('tool_choice.type: must be "function", "custom" or "allowed_tools"', "tool_choice");
}

/** `reasoning_effort` for engines that read it (gpt-oss and other reasoning models; the rest ignore it). */
function reasoningEffort(effort: string | null | undefined): string | null {
  switch (effort) {
    case "minimal":
    case "low":
      return "low";
    case "medium":
      return "medium";
    case "high":
    case "xhigh":
      return "high";
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The conversation

type ChatPart = { type: "text"; text: string } | { type: "image_url"; image_url: Json };

/**
 * The conversation as chat messages:
 * - `instructions` and the system and developer messages before the first turn make one system message. A
 *   later one goes into the user turn beside it, as a `<system-reminder>`, because many chat templates refuse a
 *   system message after the first.
 * - Each run of assistant-side items (messages, function and custom tool calls) is one assistant message.
 * - A tool's output is a `tool` message naming the function; images it returned follow in a user message.
 * - Reasoning items are dropped (a summary is not the model's reasoning, and the next model may be another).
 *   Items of hosted tools are dropped with their tools.
 */
function translateInput(request: ResponsesRequest): Json[] | Refusal {
  const leading: string[] = request.instructions ? [request.instructions] : [];
  const messages: Json[] = [];
  // User content waiting for the next user message: system reminders, and images a tool returned.
  let pending: ChatPart[] = [];
  const callNames = new Map<string, string>();
  const items: unknown[] =
    typeof request.input === "string" ? [{ role: "user", content: request.input }] : request.input;

  const flushPending = () => {
    if (pending.length > 0) messages.push({ role: "user", content: userContent(pending) });
    pending = [];
  };
  // An assistant item goes on the assistant's run when one is open; else it starts one, after whatever waits
  // for a user turn (so reminders and a tool's images come after the tool results they follow).
  const openAssistant = (): Json => {
    const last = messages.at(-1);
    if (last?.role === "assistant") return last;
    flushPending();
    const message: Json = { role: "assistant", content: null };
    messages.push(message);
    return message;
  };

  for (const [index, item] of items.entries()) {
    const at = ["input", String(index)];
    const fields = item as Json;
    const type = fields.type ?? (fields.role === undefined ? undefined : "message");
    switch (type) {
      case "message": {
        const parsed = v.safeParse(MESSAGE_ITEM, item, { message: fallbackMessage });
        if (!parsed.success) return refuse(describeIssue(parsed.issues[0], at), "input");
        const { role, content } = parsed.output;
        const parts = contentParts(content, role, [...at, "content"]);
        if (!Array.isArray(parts)) return parts;
        if (role === "system" || role === "developer") {
          const text = joinText(parts);
          if (messages.length === 0) leading.push(text);
          else if (messages.at(-1)?.role === "user") appendToUser(messages.at(-1) as Json, [reminder(text)]);
          else pending.push({ type: "text", text: reminder(text) });
        } else if (role === "assistant") {
          const message = openAssistant();
          const text = joinText(parts);
          if (text !== "") message.content = message.content ? `${message.content}\n\n${text}` : text;
        } else {
          messages.push({ role: "user", content: userContent([...pending, ...parts]) });
          pending = [];
        }
        break;
      }
      case "function_call":
      case "custom_tool_call": {
        const call = toolCall(item, at);
        if (isRefusal(call)) return call;
        const message = openAssistant();
        message.tool_calls = [...((message.tool_calls as Json[] | undefined) ?? []), call.call];
        callNames.set(call.id, call.name);
        break;
      }
      case "function_call_output":
      case "custom_tool_call_output": {
        const parsed = v.safeParse(TOOL_OUTPUT_ITEM, item, { message: fallbackMessage });
        if (!parsed.success) return refuse(describeIssue(parsed.issues[0], at), "input");
        const { call_id, output } = parsed.output;
        const parts = contentParts(output, "tool", [...at, "output"]);
        if (!Array.isArray(parts)) return parts;
        const message: Json = { role: "tool", tool_call_id: call_id, content: joinText(parts) };
        // Some chat templates (Kimi's) need the function's name on its result.
        const name = callNames.get(call_id);
        if (name !== undefined) message.name = name;
        // A tool message must follow its call, so reminders and images wait for after the run of results.
        messages.push(message);
        pending.push(...parts.filter((part) => part.type === "image_url"));
        break;
      }
      case "item_reference":
        return refuse(
          `input.${index}: item_reference needs stored responses, which this router does not keep; send the item itself (with the AI SDK: providerOptions.openai.store = false)`,
          "input",
        );
      default:
        // Reasoning, and the items of hosted tools and of Codex's own bookkeeping (compaction, web_search_call,
        // local_shell_call, tool_search_*): nothing a chat model can be given.
        break;
    }
  }
  flushPending();
  const system = leading.filter((text) => text !== "").join("\n\n");
  if (system !== "") messages.unshift({ role: "system", content: system });
  if (messages.length === 0 || messages.every((message) => message.role === "system"))
    return refuse("input: must hold at least one message", "input");
  return messages;
}

function toolCall(item: unknown, at: string[]): { id: string; name: string; call: Json } | Refusal {
  if ((item as Json).type === "custom_tool_call") {
    const parsed = v.safeParse(CUSTOM_TOOL_CALL_ITEM, item, { message: fallbackMessage });
    if (!parsed.success) return refuse(describeIssue(parsed.issues[0], at), "input");
    const { call_id, name, namespace, input } = parsed.output;
    const chatName = chatToolName(name, namespace ?? null);
    const args = JSON.stringify({ input: input ?? "" });
    return { id: call_id, name: chatName, call: chatToolCall(call_id, chatName, args) };
  }
  const parsed = v.safeParse(FUNCTION_CALL_ITEM, item, { message: fallbackMessage });
  if (!parsed.success) return refuse(describeIssue(parsed.issues[0], at), "input");
  const { call_id, name, namespace, arguments: args } = parsed.output;
  const chatName = chatToolName(name, namespace ?? null);
  return { id: call_id, name: chatName, call: chatToolCall(call_id, chatName, args || "{}") };
}

function chatToolCall(id: string, name: string, args: string): Json {
  return { id, type: "function", function: { name, arguments: args } };
}

/**
 * A message's or tool output's content as chat parts: text of every text kind, images as `image_url`. Files and
 * audio are refused (nothing on Chutes reads them), as are images by file id (Chutes has no Files API).
 */
function contentParts(content: string | ContentPart[], role: string, at: string[]): ChatPart[] | Refusal {
  if (typeof content === "string") return [{ type: "text", text: content }];
  const parts: ChatPart[] = [];
  for (const [index, part] of content.entries()) {
    const path = [...at, String(index)];
    const checked = v.safeParse(CONTENT_PART, part);
    if (!checked.success) return refuse(`${path.join(".")}: must be an object with a type`, "input");
    switch (part.type) {
      case "input_text":
      case "output_text":
      case "text":
      case "refusal": {
        const text = v.safeParse(
          TEXT_PART,
          part.type === "refusal" ? { ...part, text: part.refusal } : part,
          {
            message: fallbackMessage,
          },
        );
        if (!text.success) return refuse(describeIssue(text.issues[0], path), "input");
        parts.push({ type: "text", text: text.output.text });
        break;
      }
      case "input_image": {
        if (role === "assistant" || role === "system" || role === "developer")
          return refuse(`${path.join(".")}: images belong to user messages and tool outputs`, "input");
        const image = v.safeParse(IMAGE_PART, part, { message: fallbackMessage });
        if (!image.success) return refuse(describeIssue(image.issues[0], path), "input");
        const { image_url: url, detail } = image.output;
        if (url == null || url === "")
          return refuse(
            `${path.join(".")}: images must be given by image_url; file ids need the Files API, which Chutes does not have`,
            "input",
          );
        parts.push({ type: "image_url", image_url: detail ? { url, detail } : { url } });
        break;
      }
      case "input_file":
      case "input_audio":
        return refuse(
          `${path.join(".")}: ${part.type} is not supported; send its text, or images as input_image`,
          "input",
        );
      default:
        // Codex's own parts with nothing for a model (encrypted content) are dropped.
        break;
    }
  }
  return parts;
}

/** User content: one string when it is all text (what every chat template takes), else the parts. */
function userContent(parts: readonly ChatPart[]): unknown {
  return parts.every((part) => part.type === "text") ? joinText(parts) : [...parts];
}

function joinText(parts: readonly ChatPart[]): string {
  return parts
    .filter((part): part is Extract<ChatPart, { type: "text" }> => part.type === "text")
    .map((part) => part.text)
    .join("\n\n");
}

function reminder(text: string): string {
  return `<system-reminder>\n${text}\n</system-reminder>`;
}

function appendToUser(message: Json, texts: readonly string[]): void {
  const { content } = message;
  if (typeof content === "string") message.content = [content, ...texts].join("\n\n");
  else message.content = [...(content as ChatPart[]), ...texts.map((text) => ({ type: "text", text }))];
}
