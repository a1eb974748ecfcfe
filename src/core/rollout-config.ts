// Checking a rollout as an operator writes it (docs/contract.md §18): the body's fields, snake_case as sent,
// become a RolloutConfig with every default filled in, or the write is refused with the field at fault and a
// message saying what it must be. Whether the candidate is something the router can send to (an alias, a list
// whose every item is allowlisted, an allowlisted model) is the caller's to say; so is which rollouts exist.
// At most one rollout that is running or paused splits a given `match`. Pure.
import { MAX_SESSION_TAGS } from "./arm-stats.ts";
import { DEFAULT_GUARDS, DEFAULT_STEPS, type Rollout, type RolloutConfig } from "./rollout.ts";

/** A rollout as an operator sends it. Absent (or null) optional fields take their defaults. */
export interface RolloutInput {
  name: string;
  match: string;
  candidate: string;
  steps?: number[];
  step_minutes?: number;
  min_requests?: number;
  min_sessions?: number;
  max_error_rate_increase?: number;
  max_ttft_p95_ratio?: number;
  max_cost_ratio?: number;
  promote?: "auto" | "manual";
  cooldown_minutes?: number;
}

export type RolloutCheck =
  | { ok: true; config: Omit<RolloutConfig, "id"> }
  | { ok: false; message: string; field: string };

/** What the check needs to know beyond the input. */
export interface RolloutCheckContext {
  /** Whether the router can send to `name` (the whole candidate, a list `a,b` included). */
  isKnownTarget(name: string): boolean;
  /** The rollouts there are (any state). */
  running: ReadonlyArray<Pick<Rollout, "id" | "match" | "state">>;
  /** The rollout being rewritten, which does not conflict with itself. */
  exceptId?: string;
}

export const DEFAULT_STEP_MINUTES = 15;
export const DEFAULT_MIN_REQUESTS = 200;
export const DEFAULT_MIN_SESSIONS = 20;
export const DEFAULT_COOLDOWN_MINUTES = 60;

type NumberField =
  | "step_minutes"
  | "min_requests"
  | "min_sessions"
  | "max_error_rate_increase"
  | "max_ttft_p95_ratio"
  | "max_cost_ratio"
  | "cooldown_minutes";

/** Each number field: its default, what it must satisfy, and what to say when it does not. */
const NUMBERS: ReadonlyArray<{
  field: NumberField;
  fallback: number;
  valid: (value: number) => boolean;
  must: string;
}> = [
  {
    field: "step_minutes",
    fallback: DEFAULT_STEP_MINUTES,
    // A fraction of a minute lets a rehearsal (npm run smoke) step in seconds.
    valid: (n) => n >= 0.05,
    must: "be at least 0.05 (minutes)",
  },
  {
    field: "min_requests",
    fallback: DEFAULT_MIN_REQUESTS,
    valid: (n) => Number.isInteger(n) && n >= 1,
    must: "be a whole number of at least 1",
  },
  {
    // Sessions are counted up to MAX_SESSION_TAGS per step: a higher floor could never be met.
    field: "min_sessions",
    fallback: DEFAULT_MIN_SESSIONS,
    valid: (n) => Number.isInteger(n) && n >= 0 && n <= MAX_SESSION_TAGS,
    must: `be a whole number from 0 to ${MAX_SESSION_TAGS}`,
  },
  {
    field: "max_error_rate_increase",
    fallback: DEFAULT_GUARDS.maxErrorRateIncrease,
    valid: (n) => n >= 0 && n <= 1,
    must: "be a fraction from 0 to 1 (0.01 = 1 percentage point)",
  },
  {
    field: "max_ttft_p95_ratio",
    fallback: DEFAULT_GUARDS.maxTtftP95Ratio,
    valid: (n) => n >= 1,
    must: "be a ratio of at least 1",
  },
  {
    field: "max_cost_ratio",
    fallback: DEFAULT_GUARDS.maxCostRatio,
    valid: (n) => n >= 1,
    must: "be a ratio of at least 1",
  },
  {
    field: "cooldown_minutes",
    fallback: DEFAULT_COOLDOWN_MINUTES,
    valid: (n) => n >= 0,
    must: "be 0 or more (minutes)",
  },
];

const refuse = (field: string, message: string): RolloutCheck => ({ ok: false, field, message });

/** The rollout `input` describes, defaults filled in, or why it cannot be written. */
/** The rollout, other than `exceptId`, that splits `match` now (running or paused), if any. */
export function splitting<R extends Pick<Rollout, "id" | "match" | "state">>(
  rollouts: readonly R[],
  match: string,
  exceptId?: string,
): R | undefined {
  return rollouts.find(
    (other) =>
      other.match === match &&
      (other.state === "running" || other.state === "paused") &&
      other.id !== exceptId,
  );
}

export function checkRollout(input: RolloutInput, ctx: RolloutCheckContext): RolloutCheck {
  const text: Record<"name" | "match" | "candidate", string> = { name: "", match: "", candidate: "" };
  for (const field of ["name", "match", "candidate"] as const) {
    const value: unknown = input[field];
    if (typeof value !== "string" || value.trim() === "") return refuse(field, `${field} must not be empty`);
    text[field] = value.trim();
  }
  const { name, match, candidate } = text;
  if (candidate === match) {
    return refuse("candidate", `candidate must differ from match (both are "${match}")`);
  }
  if (!ctx.isKnownTarget(candidate)) {
    return refuse(
      "candidate",
      `candidate "${candidate}" is not an alias, a list of allowed models or an allowed model`,
    );
  }

  const steps = checkSteps(input.steps);
  if (typeof steps === "string") return refuse("steps", steps);

  const numbers = {} as Record<NumberField, number>;
  for (const { field, fallback, valid, must } of NUMBERS) {
    const value: unknown = input[field];
    if (value === undefined || value === null) {
      numbers[field] = fallback;
      continue;
    }
    if (typeof value !== "number" || !Number.isFinite(value))
      return refuse(field, `${field} must be a finite number`);
    if (!valid(value)) return refuse(field, `${field} must ${must}, not ${value}`);
    numbers[field] = value;
  }

  const promote: unknown = input.promote ?? "auto";
  if (promote !== "auto" && promote !== "manual")
    return refuse("promote", `promote must be "auto" or "manual"`);

  const clash = splitting(ctx.running, match, ctx.exceptId);
  if (clash) {
    return refuse(
      "match",
      `rollout ${clash.id} already splits "${match}" (${clash.state}); abort it or let it finish first`,
    );
  }

  return {
    ok: true,
    config: {
      name,
      match,
      candidate,
      steps,
      stepMinutes: numbers.step_minutes,
      minRequests: numbers.min_requests,
      minSessions: numbers.min_sessions,
      guards: {
        maxErrorRateIncrease: numbers.max_error_rate_increase,
        maxTtftP95Ratio: numbers.max_ttft_p95_ratio,
        maxCostRatio: numbers.max_cost_ratio,
      },
      promote,
      cooldownMinutes: numbers.cooldown_minutes,
    },
  };
}

/** The steps, a copy, or what is wrong with them. */
function checkSteps(input: unknown): number[] | string {
  if (input === undefined || input === null) return [...DEFAULT_STEPS];
  if (!Array.isArray(input) || input.length === 0) return "steps must be a non-empty list of percentages";
  const steps: number[] = [];
  for (const step of input) {
    if (typeof step !== "number" || !Number.isFinite(step)) return "steps must be finite numbers";
    if (!Number.isInteger(step)) return `steps must be whole percentages, not ${step}`;
    if (step <= 0 || step > 100) return `steps must be from 1 to 100 (percent), not ${step}`;
    const previous = steps[steps.length - 1];
    if (previous !== undefined && step <= previous) {
      return `steps must rise strictly: ${step} follows ${previous}`;
    }
    steps.push(step);
  }
  return steps;
}
