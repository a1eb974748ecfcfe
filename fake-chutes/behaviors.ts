// Per-model behaviours a test can script (a union tagged on `kind`), the check that turns admin JSON into one,
// and the table that hands them out. How a behaviour is played on the wire is completions.ts's job.
import { isRecord } from "./http-io.ts";

/** Overload variants of Chutes' 429 (see error-bodies.ts for their wording). */
export type OverloadReason = "infra_overload" | "no_targets" | "maintenance";

/** Where a reasoning model puts its thinking: vLLM renamed `reasoning_content` to `reasoning`. */
export type ReasoningField = "reasoning_content" | "reasoning";

/**
 * What a `healthy` model does with a chat request that asks it to go on from its final assistant message
 * (`continue_final_message`): carry on after it, or start the answer over as a template that drops it would.
 */
export type ContinuationMode = "continues" | "restarts";

/** One function call a `healthy` chat answer makes; `id` defaults to `call_<index in toolCalls>`. */
export type FakeToolCall = { id?: string; name: string; arguments: string };

/** What the fake does with the next request(s) for a model. `times`: only the next N requests, then healthy. */
export type Behavior = { times?: number } & (
  | {
      kind: "healthy";
      chunks?: number;
      intervalMs?: number;
      firstByteDelayMs?: number;
      /** Chat only: thinking sent before the content (one stream chunk per word). */
      reasoning?: string;
      /** Default `reasoning_content`. */
      reasoningField?: ReasoningField;
      /** Chat only: calls sent after the content; a non-empty list makes `finish_reason` `tool_calls`. */
      toolCalls?: FakeToolCall[];
      /** Chat only: how a `continue_final_message` request is answered. Default `continues`. */
      continuation?: ContinuationMode;
    }
  | { kind: "slow_headers"; delayMs: number }
  | { kind: "slow_first_byte"; delayMs: number }
  | { kind: "status"; status: number; body?: string; contentType?: string }
  | { kind: "overloaded"; reason?: OverloadReason }
  | { kind: "html_429" }
  | { kind: "reset_before_headers" }
  | { kind: "reset_mid_stream"; afterChunks: number }
  | { kind: "stall_mid_stream"; afterChunks: number }
  | { kind: "empty_200" }
);

export type BehaviorKind = Behavior["kind"];

/** Failures are data: a parse either yields a value or says what is wrong. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

export const HEALTHY: Behavior = { kind: "healthy" };

export const OVERLOAD_REASONS: readonly OverloadReason[] = ["infra_overload", "no_targets", "maintenance"];

export const REASONING_FIELDS: readonly ReasoningField[] = ["reasoning_content", "reasoning"];

export const CONTINUATION_MODES: readonly ContinuationMode[] = ["continues", "restarts"];

type FieldRule =
  | "count"
  | "count?"
  | "positive?"
  | "status"
  | "string?"
  | "reason?"
  | "reasoningField?"
  | "toolCalls?"
  | "continuation?";

// One line per kind: the fields it accepts. Kept in step with the `Behavior` union by hand.
const FIELD_RULES: { readonly [K in BehaviorKind]: Readonly<Record<string, FieldRule>> } = {
  healthy: {
    chunks: "count?",
    intervalMs: "count?",
    firstByteDelayMs: "count?",
    reasoning: "string?",
    reasoningField: "reasoningField?",
    toolCalls: "toolCalls?",
    continuation: "continuation?",
  },
  slow_headers: { delayMs: "count" },
  slow_first_byte: { delayMs: "count" },
  status: { status: "status", body: "string?", contentType: "string?" },
  overloaded: { reason: "reason?" },
  html_429: {},
  reset_before_headers: {},
  reset_mid_stream: { afterChunks: "count" },
  stall_mid_stream: { afterChunks: "count" },
  empty_200: {},
};

/** Checks untrusted JSON (admin endpoint, programmatic calls) against the `Behavior` union. */
export function parseBehavior(input: unknown): ParseResult<Behavior> {
  if (!isRecord(input)) return { ok: false, error: "behavior must be a JSON object" };
  const kind = input.kind;
  if (typeof kind !== "string" || !Object.hasOwn(FIELD_RULES, kind)) {
    return { ok: false, error: `behavior.kind must be one of: ${Object.keys(FIELD_RULES).join(", ")}` };
  }
  const rules: Record<string, FieldRule> = { ...FIELD_RULES[kind as BehaviorKind], times: "positive?" };
  for (const key of Object.keys(input)) {
    if (key !== "kind" && !Object.hasOwn(rules, key)) {
      return { ok: false, error: `behavior.${key} is not a field of kind ${kind}` };
    }
  }
  for (const [key, rule] of Object.entries(rules)) {
    const problem = checkField(input[key], rule);
    // A problem inside an array names its element: `behavior.toolCalls[1].name must be …`.
    const separator = problem?.startsWith("[") ? "" : " ";
    if (problem !== null) return { ok: false, error: `behavior.${key}${separator}${problem}` };
  }
  return { ok: true, value: input as Behavior };
}

function checkField(value: unknown, rule: FieldRule): string | null {
  if (value === undefined) return rule.endsWith("?") ? null : "is required";
  switch (rule) {
    case "count":
    case "count?":
      return isCount(value) ? null : "must be a non-negative integer";
    case "positive?":
      return isCount(value) && value > 0 ? null : "must be a positive integer";
    case "status":
      return isCount(value) && value >= 200 && value <= 599 ? null : "must be an HTTP status from 200 to 599";
    case "string?":
      return typeof value === "string" ? null : "must be a string";
    case "reason?":
      return OVERLOAD_REASONS.some((reason) => reason === value)
        ? null
        : `must be one of: ${OVERLOAD_REASONS.join(", ")}`;
    case "reasoningField?":
      return REASONING_FIELDS.some((field) => field === value)
        ? null
        : `must be one of: ${REASONING_FIELDS.join(", ")}`;
    case "toolCalls?":
      return checkToolCalls(value);
    case "continuation?":
      return CONTINUATION_MODES.some((mode) => mode === value)
        ? null
        : `must be one of: ${CONTINUATION_MODES.join(", ")}`;
  }
}

const TOOL_CALL_KEYS: readonly string[] = ["id", "name", "arguments"];

function checkToolCalls(value: unknown): string | null {
  if (!Array.isArray(value)) return "must be an array of {id?, name, arguments} objects";
  for (const [index, call] of value.entries()) {
    if (!isRecord(call)) return `[${index}] must be an object`;
    const stray = Object.keys(call).find((key) => !TOOL_CALL_KEYS.includes(key));
    if (stray !== undefined) return `[${index}].${stray} is not a field of a tool call`;
    if (call.id !== undefined && (typeof call.id !== "string" || call.id === "")) {
      return `[${index}].id must be a non-empty string`;
    }
    if (typeof call.name !== "string" || call.name === "")
      return `[${index}].name must be a non-empty string`;
    if (typeof call.arguments !== "string") return `[${index}].arguments must be a string`;
  }
  return null;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

type TableEntry = { behavior: Behavior; remaining: number | null };

/** Current behaviour per model; a model never set is healthy. */
export class BehaviorTable {
  #entries = new Map<string, TableEntry>();

  set(model: string, behavior: Behavior): void {
    this.#entries.set(model, { behavior, remaining: behavior.times ?? null });
  }

  has(model: string): boolean {
    return this.#entries.has(model);
  }

  /** The behaviour for the next request to `model`; spends one unit of a `times` budget. */
  take(model: string): Behavior {
    const entry = this.#entries.get(model);
    if (entry === undefined) return HEALTHY;
    if (entry.remaining !== null) {
      entry.remaining -= 1;
      if (entry.remaining <= 0) this.#entries.delete(model);
    }
    return entry.behavior;
  }

  /** Models with a scripted behaviour, and how many requests are left where `times` was given. */
  snapshot(): Record<string, { behavior: Behavior; remaining: number | null }> {
    const out: Record<string, { behavior: Behavior; remaining: number | null }> = {};
    for (const [model, entry] of this.#entries) out[model] = { ...entry };
    return out;
  }

  clear(): void {
    this.#entries.clear();
  }
}
