// Recognises the engines' refusals of a request that does not fit the model (docs/contract.md §16): vLLM's and
// SGLang's wordings for too-long input, too much output, tools without a tool parser, images to a text-only
// model (or too many of them) and JSON schemas the grammar backend cannot compile, in every shape Chutes passes
// them on: flat `{"object":"error","message"}`, nested `{"error":{"message"}}`, wrapped in FastAPI's
// `{"detail":…}`, or as the first event of a 200 stream. research/capability-routing.md §2 lists the sources.

export type RefusalKind = "context_length" | "tools" | "images" | "schema";

/** How a refused attempt is named in the log line and `failover_reason_total`. */
export type RefusalReason = `refused_${RefusalKind}`;

export function refusalReason(kind: RefusalKind): RefusalReason {
  return `refused_${kind}`;
}

export interface EngineRefusal {
  kind: RefusalKind;
  /** The context window the engine reported, in tokens. */
  windowTokens: number | null;
  /** The prompt tokens the engine counted (exact, in its own tokenizer). */
  inputTokens: number | null;
  /** The output tokens the request asked for, as the engine read them. */
  outputTokens: number | null;
  /** The most images the engine takes per request. */
  maxImages: number | null;
}

/** The statuses the engines refuse a request with; FastAPI's validation status too. */
const REFUSAL_STATUSES = new Set([400, 413, 422]);

type Numbers = Pick<EngineRefusal, "windowTokens" | "inputTokens" | "outputTokens" | "maxImages">;
type Wording = { kind: RefusalKind; pattern: RegExp; read?: (match: RegExpExecArray) => Partial<Numbers> };

const n = (text: string | undefined): number | null => (text === undefined ? null : Number(text));

// Most specific first: the first match decides. Numbers keep the engine's own order of mention.
const WORDINGS: readonly Wording[] = [
  {
    // vLLM ≤ 0.10: "…is L tokens. However, you requested T tokens (P in the messages, M in the completion)."
    kind: "context_length",
    pattern:
      /maximum context length is (\d+) tokens?\.? However, you requested (\d+) tokens \((\d+) in the messages, (\d+) in the completion\)/i,
    read: (m) => ({ windowTokens: n(m[1]), inputTokens: n(m[3]), outputTokens: n(m[4]) }),
  },
  {
    kind: "context_length",
    pattern:
      /maximum context length is (\d+) tokens?\.? However, you requested (\d+) tokens in the messages/i,
    read: (m) => ({ windowTokens: n(m[1]), inputTokens: n(m[2]) }),
  },
  {
    // vLLM 0.10–0.13 when the output does not fit.
    kind: "context_length",
    pattern:
      /'max_tokens' or 'max_completion_tokens' is too large: (\d+)\.? This model's maximum context length is (\d+) tokens and your request has (\d+) input tokens/i,
    read: (m) => ({ outputTokens: n(m[1]), windowTokens: n(m[2]), inputTokens: n(m[3]) }),
  },
  {
    // vLLM 2026: "…L tokens. However, you requested M output tokens and your prompt contains at least P input tokens…"
    kind: "context_length",
    pattern:
      /maximum context length is (\d+) tokens?\.? However, you requested (\d+) output tokens and your prompt contains at least (\d+) input tokens/i,
    read: (m) => ({ windowTokens: n(m[1]), outputTokens: n(m[2]), inputTokens: n(m[3]) }),
  },
  {
    kind: "context_length",
    pattern: /maximum context length is (\d+) tokens?\.? However, your request has (\d+) input tokens/i,
    read: (m) => ({ windowTokens: n(m[1]), inputTokens: n(m[2]) }),
  },
  {
    kind: "context_length",
    pattern:
      /You passed (\d+) input tokens and requested (\d+) output tokens\.? However, the model's context length is only (\d+) tokens/i,
    read: (m) => ({ inputTokens: n(m[1]), outputTokens: n(m[2]), windowTokens: n(m[3]) }),
  },
  {
    // vLLM's character pre-check: the count is of characters, not tokens.
    kind: "context_length",
    pattern:
      /You passed (\d+) input characters and requested (\d+) output tokens\.? However, the model's context length is only (\d+) tokens/i,
    read: (m) => ({ outputTokens: n(m[2]), windowTokens: n(m[3]) }),
  },
  {
    kind: "context_length",
    pattern: /max_tokens=(\d+) cannot be greater than max_model_len=(?:max_total_tokens=)?(\d+)/i,
    read: (m) => ({ outputTokens: n(m[1]), windowTokens: n(m[2]) }),
  },
  {
    // vLLM V1, often with images: text plus multimodal tokens.
    kind: "context_length",
    pattern: /decoder prompt \(length (\d+)\) is longer than the maximum model length of (\d+)/i,
    read: (m) => ({ inputTokens: n(m[1]), windowTokens: n(m[2]) }),
  },
  {
    // SGLang, input alone.
    kind: "context_length",
    pattern: /The input \((\d+) tokens\) is longer than the model's context length \((\d+) tokens\)/i,
    read: (m) => ({ inputTokens: n(m[1]), windowTokens: n(m[2]) }),
  },
  {
    // SGLang, input plus completion.
    kind: "context_length",
    pattern:
      /exceeds the model's maximum context length of (\d+) tokens\.? You requested a total of (\d+) tokens: (\d+) tokens from the input messages and (\d+) tokens for the completion/i,
    read: (m) => ({ windowTokens: n(m[1]), inputTokens: n(m[3]), outputTokens: n(m[4]) }),
  },
  {
    // SGLang: L here is the context length too.
    kind: "context_length",
    pattern:
      /max_completion_tokens is too large: (\d+)\.?\s*This model supports at most (\d+) completion tokens/i,
    read: (m) => ({ outputTokens: n(m[1]), windowTokens: n(m[2]) }),
  },
  {
    // A Mistral tokenizer quirk of vLLM when the prompt leaves no room at all.
    kind: "context_length",
    pattern: /max_tokens must be at least 1, got -\d+/i,
  },
  {
    kind: "context_length",
    pattern:
      /(maximum context length|context length (is|of)|context window|prompt is too long|too many input tokens)/i,
  },
  { kind: "tools", pattern: /"auto" tool choice requires --enable-auto-tool-choice/i },
  {
    kind: "tools",
    pattern: /(tool[ _]?(calling|use|choice)|function calling|\btools\b)[^.]{0,40}\bnot (supported|enabled)/i,
  },
  { kind: "tools", pattern: /does not support (tool|function)[ _]?(calling|calls|use|choice)?/i },
  {
    kind: "images",
    pattern: /At most (\d+) image\(s\) may be provided in one request/i,
    read: (m) => ({ maxImages: n(m[1]) }),
  },
  {
    kind: "images",
    pattern:
      /You set image=(\d+) \(or defaulted to 1\) in --limit-mm-per-prompt, but passed \d+ image items/i,
    read: (m) => ({ maxImages: n(m[1]) }),
  },
  { kind: "images", pattern: /is not a multimodal model/i },
  { kind: "images", pattern: /(image|vision|multimodal|multi-modal)[^.]{0,30}\bnot (supported|enabled)/i },
  { kind: "images", pattern: /does not support (image|vision|multimodal|multi-modal)/i },
  { kind: "schema", pattern: /not supported by xgrammar/i },
  { kind: "schema", pattern: /Failed to transform json schema into a grammar/i },
  { kind: "schema", pattern: /schema_ is required for json_schema response format/i },
  {
    kind: "schema",
    pattern:
      /(json[ _]schema|response_format|guided_json|structured output)[^.]{0,40}\bnot (supported|enabled)/i,
  },
];

/** The refusal an error answer carries, or null when it is some other error. */
export function classifyEngineRefusal(status: number, bodyText: string): EngineRefusal | null {
  if (!REFUSAL_STATUSES.has(status)) return null;
  return classifyErrorMessage(errorMessageOf(bodyText));
}

/** The refusal in an SSE error event's data (an engine that refused inside a 200 stream), or null. */
export function classifyStreamedRefusal(eventData: string): EngineRefusal | null {
  return classifyErrorMessage(errorMessageOf(eventData));
}

function classifyErrorMessage(message: string | null): EngineRefusal | null {
  if (message === null) return null;
  for (const wording of WORDINGS) {
    const match = wording.pattern.exec(message);
    if (!match) continue;
    return {
      kind: wording.kind,
      windowTokens: null,
      inputTokens: null,
      outputTokens: null,
      maxImages: null,
      ...wording.read?.(match),
    };
  }
  return null;
}

const MAX_UNWRAP_DEPTH = 4;

/**
 * The human message of an error body in any of the shapes above: `message`, `error.message`, `error` as a
 * string, or `detail` (a string, possibly itself JSON, or an object of these shapes). Null when none.
 */
export function errorMessageOf(text: string, depth = 0): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return depth > 0 ? text : null;
  }
  return messageIn(body, depth);
}

function messageIn(body: unknown, depth: number): string | null {
  if (depth > MAX_UNWRAP_DEPTH) return null;
  if (typeof body === "string") return errorMessageOf(body, depth + 1);
  if (typeof body !== "object" || body === null) return null;
  const record = body as Record<string, unknown>;
  for (const key of ["detail", "error"]) {
    const inner = record[key];
    if (inner !== undefined && inner !== null) {
      const message = messageIn(inner, depth + 1);
      if (message !== null) return message;
    }
  }
  return typeof record.message === "string" ? record.message : null;
}
