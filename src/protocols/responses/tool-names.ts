// Responses tool names ↔ chat function names (docs/contract.md §20). A chat model sees one flat list of
// functions, while a Responses client groups tools in namespaces (Codex's `multi_agent_v1`) and has freeform
// `custom` tools. Each tool gets one chat name: a function keeps its own, a namespace's child becomes
// `namespace__child`; a custom tool becomes a function taking one string, `input`. The same mapping renames the
// calls echoed in the conversation, and turns the model's calls back into what the client declared. Pure.

/** What a chat function name stands for on the client's side. */
export interface ClientTool {
  name: string;
  namespace: string | null;
  /** A freeform tool: its call carries `input` text, not JSON arguments. */
  custom: boolean;
}

const SEPARATOR = "__";
// What OpenAI-style function names may hold; dots are refused by some engines' tool parsers.
const VALID_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The chat function name for a client tool (deterministic, so history and tools agree). */
export function chatToolName(name: string, namespace: string | null): string {
  const joined = namespace === null || namespace === "" ? name : `${namespace}${SEPARATOR}${name}`;
  if (VALID_NAME.test(joined)) return joined;
  // Too long or with other characters: the valid characters, cut to leave room for a hash of the whole.
  const cleaned = joined.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 55);
  return `${cleaned}_${fnv1a(joined)}`;
}

/** The client's tools by chat name; the model's calls are read back through it. */
export class ToolNames {
  readonly #byChatName = new Map<string, ClientTool>();
  // A namespace child's own name → its chat name, when only one namespace has a child of that name.
  readonly #bareChildren = new Map<string, string | null>();

  /** Adds a tool; returns its chat name. */
  add(tool: ClientTool): string {
    const chatName = chatToolName(tool.name, tool.namespace);
    this.#byChatName.set(chatName, tool);
    if (tool.namespace !== null) {
      const known = this.#bareChildren.get(tool.name);
      this.#bareChildren.set(tool.name, known === undefined ? chatName : null);
    }
    return chatName;
  }

  /**
   * The client tool a model's call names. A model that calls a namespace child by its bare name (some drop the
   * prefix) gets that child when it is the only one of that name; anything else is passed on as a function.
   */
  resolve(chatName: string): ClientTool {
    const known = this.#byChatName.get(chatName);
    if (known) return known;
    const child = this.#bareChildren.get(chatName);
    const resolved = child ? this.#byChatName.get(child) : undefined;
    return resolved ?? { name: chatName, namespace: null, custom: false };
  }

  /** Whether the tool with this chat name is a custom (freeform) one. */
  isCustom(chatName: string): boolean {
    return this.#byChatName.get(chatName)?.custom === true;
  }
}

/** The 32-bit FNV-1a hash of a string's UTF-16 units, as 8 hex digits. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
