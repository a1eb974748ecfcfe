// Anthropic Messages request → OpenAI chat-completions body (docs/contract.md §14). Validates the fields it reads
// and ignores the rest; routing, the model map and the upstream call are left to the route.
import * as v from "valibot";
import { DataUrl } from "../../core/json-parts.ts";
import { describeIssue, fallbackMessage } from "../schema-issues.ts";
import { type Block, MESSAGES_REQUEST } from "./request-schema.ts";
import { decodeToolId } from "./tool-ids.ts";

/** The translated request, or which field was refused and why. */
export type TranslatedRequest =
  | {
      ok: true;
      model: string;
      stream: boolean;
      stopSequences: string[];
      sessionId: string | null;
      /** `thinking.display: "omitted"`: thinking blocks are sent without their text. */
      omitThinking: boolean;
      /** The OpenAI chat body, without `model` (the route sets it per attempt). */
      chat: Record<string, unknown>;
    }
  | { ok: false; message: string };

type ChatMessage = Record<string, unknown>;
type ContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string | DataUrl } };
type Request = v.InferOutput<typeof MESSAGES_REQUEST>;

/** Validates an Anthropic Messages body and translates it into an OpenAI chat body. */
export function translateRequest(body: unknown): TranslatedRequest {
  const parsed = v.safeParse(MESSAGES_REQUEST, body, { message: fallbackMessage });
  if (!parsed.success) return { ok: false, message: describeIssue(parsed.issues[0]) };
  const request = parsed.output;

  const conversation = translateConversation(request);
  if (typeof conversation === "string") return { ok: false, message: conversation };
  const chat: Record<string, unknown> = { messages: conversation.messages, max_tokens: request.max_tokens };
  const stopSequences = request.stop_sequences ?? [];
  if (stopSequences.length > 0) chat.stop = stopSequences;
  if (request.temperature != null) chat.temperature = request.temperature;
  if (request.top_p != null) chat.top_p = request.top_p;
  // vLLM and SGLang read top_k as an extra sampling parameter.
  if (request.top_k != null) chat.top_k = request.top_k;
  const tools = translateTools(request, conversation.loadedTools);
  if (typeof tools === "string") return { ok: false, message: tools };
  if (tools.length > 0) {
    chat.tools = tools;
    // Sent only beside tools: vLLM refuses tool_choice when the request has none.
    const choice = request.tool_choice;
    if (choice != null) {
      chat.tool_choice =
        choice.type === "tool"
          ? { type: "function", function: { name: choice.name } }
          : { auto: "auto", any: "required", none: "none" }[choice.type];
      if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
    }
  }
  const effort = reasoningEffort(request);
  if (effort !== null) chat.reasoning_effort = effort;
  const format = request.output_config?.format ?? request.output_format;
  if (format) {
    chat.response_format = {
      type: "json_schema",
      json_schema: { name: "output", schema: format.schema, strict: true },
    };
  }
  const stream = request.stream === true;
  // Usage only arrives in a stream's last chunk when asked for; Anthropic clients need it in message_delta.
  if (stream) Object.assign(chat, { stream: true, stream_options: { include_usage: true } });

  // metadata.user_id is read for stickiness and never forwarded: it identifies the Claude account.
  const sessionId = sessionIdFrom(request.metadata);
  const omitThinking = request.thinking?.display === "omitted";
  return { ok: true, model: request.model, stream, stopSequences, sessionId, omitThinking, chat };
}

/**
 * The conversation as OpenAI messages, and the deferred tools a tool search loaded in it. System entries
 * before the first turn join the leading system message; later ones (Claude Code's mid-conversation system
 * messages) go into the user turn beside them as a `<system-reminder>`, because many chat templates refuse a
 * system message after the first and some refuse two user messages in a row.
 */
function translateConversation(
  request: Request,
): { messages: ChatMessage[]; loadedTools: Set<string> } | string {
  const leading = [typeof request.system === "string" ? request.system : joinTexts(request.system ?? [])];
  const messages: ChatMessage[] = [];
  const loadedTools = new Set<string>();
  let pending: string[] = [];
  for (const [index, message] of request.messages.entries()) {
    const blocks: Block[] =
      typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
    if (message.role === "system") {
      const text = systemText(blocks);
      if (typeof text !== "string") return `messages.${index}.content: ${text.error}`;
      if (messages.length === 0) leading.push(text);
      else if (!appendToLastUser(messages, reminder(text))) pending.push(reminder(text));
      continue;
    }
    const translated =
      message.role === "user" ? translateUserTurn(blocks, loadedTools) : translateAssistantTurn(blocks);
    if (typeof translated === "string") return `messages.${index}.content: ${translated}`;
    // System text waiting for a user turn: into this one's user message, else where it stands (an assistant
    // turn keeps the order), else after this turn's tool results, which must follow their calls directly.
    const user = translated.find((item) => item.role === "user");
    if (pending.length > 0 && user) user.content = withText(user.content, pending, "before");
    else if (pending.length > 0 && message.role === "assistant") messages.push(userText(pending));
    messages.push(...translated);
    if (pending.length > 0 && !user && message.role === "user") messages.push(userText(pending));
    pending = [];
  }
  if (pending.length > 0) messages.push(userText(pending));
  const system = leading.filter((text) => text !== "").join("\n\n");
  if (system !== "") messages.unshift({ role: "system", content: system });
  return { messages, loadedTools };
}

function systemText(blocks: readonly Block[]): string | { error: string } {
  const texts: string[] = [];
  for (const block of blocks) {
    if (block.type !== "text") return { error: `${block.type} blocks do not belong to system messages` };
    texts.push(block.text);
  }
  return texts.join("\n\n");
}

function userText(texts: readonly string[]): ChatMessage {
  return { role: "user", content: texts.join("\n\n") };
}

function reminder(text: string): string {
  return `<system-reminder>\n${text}\n</system-reminder>`;
}

/** Appends `text` to the last message when it is the user's; false when it is not. */
function appendToLastUser(messages: ChatMessage[], text: string): boolean {
  const last = messages.at(-1);
  if (last?.role !== "user") return false;
  last.content = withText(last.content, [text], "after");
  return true;
}

function withText(content: unknown, texts: readonly string[], where: "before" | "after"): unknown {
  if (typeof content === "string") {
    const all = where === "before" ? [...texts, content] : [content, ...texts];
    return all.join("\n\n");
  }
  const parts = (Array.isArray(content) ? content : []) as ContentPart[];
  const added = texts.map((text) => ({ type: "text" as const, text }));
  return where === "before" ? [...added, ...parts] : [...parts, ...added];
}

/**
 * The request's tools as OpenAI function tools. Anthropic-defined tools (web_search_*, bash_*, …) carry a
 * `type` and no input_schema: the server runs them, or the schema is Anthropic's own, so an OpenAI model could
 * not call them; only custom tools are forwarded. A deferred tool (`defer_loading`) is in the model's context
 * only once a tool search in the conversation loaded it.
 */
function translateTools(request: Request, loaded: ReadonlySet<string>): Record<string, unknown>[] | string {
  const all = request.tools ?? [];
  const custom = all.filter((tool) => tool.type == null || tool.type === "custom");
  const schemaless = all.findIndex((tool) => custom.includes(tool) && tool.input_schema == null);
  if (schemaless >= 0) return `tools.${schemaless}.input_schema: is required`;
  return custom
    .filter((tool) => tool.defer_loading !== true || loaded.has(tool.name))
    .map((tool) => ({
      type: "function",
      function: { name: tool.name, description: tool.description ?? "", parameters: tool.input_schema },
    }));
}

/**
 * `reasoning_effort` for engines that read it (gpt-oss and other reasoning models; the rest ignore it): from
 * `output_config.effort` (what adaptive thinking is steered by; `max` is `high`), else from an enabled
 * thinking budget. Adaptive thinking alone leaves the model its own default.
 */
function reasoningEffort(request: Request): string | null {
  const effort = request.output_config?.effort;
  if (effort === "low" || effort === "medium" || effort === "high") return effort;
  if (effort === "max" || effort === "xhigh") return "high";
  const budget = request.thinking?.type === "enabled" ? request.thinking.budget_tokens : undefined;
  if (budget == null) return null;
  return budget <= 1024 ? "low" : budget <= 8192 ? "medium" : "high";
}

// tool_result blocks become tool messages ahead of the rest of the turn, as OpenAI requires each tool message to
// follow the assistant's calls directly; the turn's text and images (and images returned by tools) come after.
function translateUserTurn(blocks: readonly Block[], loadedTools: Set<string>): ChatMessage[] | string {
  const toolMessages: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  for (const block of blocks) {
    if (block.type === "text") parts.push({ type: "text", text: block.text });
    else if (block.type === "image") parts.push(imagePart(block));
    else if (block.type === "tool_result") {
      const content =
        typeof block.content === "string"
          ? [{ type: "text" as const, text: block.content }]
          : (block.content ?? []);
      const texts: string[] = [];
      for (const item of content) {
        if (item.type === "text") texts.push(item.text);
        else if (item.type === "image") parts.push(imagePart(item));
        else {
          loadedTools.add(item.tool_name);
          texts.push(`Loaded tool: ${item.tool_name}`);
        }
      }
      const text = texts.join("\n\n");
      toolMessages.push({
        role: "tool",
        tool_call_id: decodeToolId(block.tool_use_id),
        content: block.is_error === true ? `Error: ${text}` : text,
      });
    } else return `${block.type} blocks belong to assistant messages`;
  }
  if (parts.length === 0 && toolMessages.length > 0) return toolMessages;
  const onlyText = parts.every((part) => part.type === "text");
  const content = onlyText ? joinTexts(parts) : parts;
  return [...toolMessages, { role: "user", content }];
}

// Thinking blocks are dropped: their signatures mean nothing upstream, the model that answers next may not be
// the one that thought (failover, lists), and most chat templates strip past reasoning anyway.
function translateAssistantTurn(blocks: readonly Block[]): ChatMessage[] | string {
  const texts: string[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  for (const block of blocks) {
    if (block.type === "text") texts.push(block.text);
    else if (block.type === "tool_use") {
      const call = { name: block.name, arguments: JSON.stringify(block.input) };
      toolCalls.push({ id: decodeToolId(block.id), type: "function", function: call });
    } else if (block.type !== "thinking" && block.type !== "redacted_thinking") {
      return `${block.type} blocks belong to user messages`;
    }
  }
  const text = texts.join("\n\n");
  if (toolCalls.length === 0) return [{ role: "assistant", content: text }];
  return [{ role: "assistant", content: text === "" ? null : text, tool_calls: toolCalls }];
}

/** An image as a chat part; a base64 one as a `data:` URL kept in two pieces, so its payload is not copied. */
function imagePart(block: Extract<Block, { type: "image" }>): ContentPart {
  const { source } = block;
  const url =
    source.type === "url" ? source.url : new DataUrl(`data:${source.media_type};base64,`, source.data);
  return { type: "image_url", image_url: { url } };
}

function joinTexts(blocks: readonly { text: string }[]): string {
  return blocks.map((block) => block.text).join("\n\n");
}

const LEGACY_SESSION = /_session_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;

// Claude Code sends metadata.user_id as a JSON string holding session_id; older versions sent
// `user_<hash>_account_<uuid>_session_<uuid>`.
function sessionIdFrom(metadata: unknown): string | null {
  if (typeof metadata !== "object" || metadata === null || !("user_id" in metadata)) return null;
  const userId = metadata.user_id;
  if (typeof userId !== "string") return null;
  try {
    const decoded: unknown = JSON.parse(userId);
    if (typeof decoded === "object" && decoded !== null && "session_id" in decoded) {
      const sessionId = decoded.session_id;
      if (typeof sessionId === "string" && sessionId !== "") return sessionId;
    }
  } catch {
    // Not JSON: the legacy form below.
  }
  return LEGACY_SESSION.exec(userId)?.[1] ?? null;
}
