// Per-model behaviours a test can script (a union tagged on `kind`), the check that turns admin JSON into one,
// and the table that hands them out. How a behaviour is played on the wire is completions.ts's job.
import { isRecord } from "./http-io.ts";

/** Overload variants of Chutes' 429 (see error-bodies.ts for their wording). */
export type OverloadReason = "infra_overload" | "no_targets" | "maintenance";

/** What the fake does with the next request(s) for a model. `times`: only the next N requests, then healthy. */
export type Behavior = { times?: number } & (
  | { kind: "healthy"; chunks?: number; intervalMs?: number; firstByteDelayMs?: number }
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

type FieldRule = "count" | "count?" | "positive?" | "status" | "string?" | "reason?";

// One line per kind: the fields it accepts. Kept in step with the `Behavior` union by hand.
const FIELD_RULES: { readonly [K in BehaviorKind]: Readonly<Record<string, FieldRule>> } = {
  healthy: { chunks: "count?", intervalMs: "count?", firstByteDelayMs: "count?" },
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
    if (problem !== null) return { ok: false, error: `behavior.${key} ${problem}` };
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
  }
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
