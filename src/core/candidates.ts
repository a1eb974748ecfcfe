// The ordered models one request will try (docs/contract.md §3–§5, §13, §16): the mode's models that fit the
// request, with the client's sticky model first when it is one of them, then in three tiers that keep that
// order within each: healthy models (those known to fit before those the feed says too little about), then
// degraded ones (much slower than their own baseline), then open breakers. Half-open and due-for-recheck
// models this isolate is already probing count as open or degraded, so one probe at a time. At most
// MAX_ATTEMPTS long. Nothing open, nothing degraded, nothing unknown: the order is exactly the ranking's.
import { type BreakerOptions, type BreakerState, breakerPhase } from "./breaker.ts";
import { healthPhase, type ModelStats, type SlowModelOptions } from "./model-health.ts";
import type { RoutingMode } from "./model-list.ts";
import type { Candidate } from "./ranking.ts";

export interface CandidatePlanInput {
  /** The mode's models that fit the request, in the mode's order (core/fit-plan.ts). */
  models: readonly string[];
  /** Of those, the ones the feed says too little about to know they fit. */
  unknownFit: ReadonlySet<string>;
  breakers: Readonly<Record<string, BreakerState>>;
  breakerOptions: BreakerOptions;
  health: Readonly<Record<string, ModelStats>>;
  slowOptions: SlowModelOptions;
  /** Models this isolate is already probing (half-open breakers, degraded models due for a recheck). */
  probing: ReadonlySet<string>;
  stickyModel: string | null;
  maxAttempts: number;
  nowMs: number;
}

type Tier = "healthy" | "unknown_fit" | "degraded" | "open";

/** Models in the order they will be tried. */
export function planCandidates(input: CandidatePlanInput): string[] {
  const { models } = input;
  const sticky = input.stickyModel;
  const withSticky =
    sticky !== null && models.includes(sticky) ? [sticky, ...models.filter((m) => m !== sticky)] : models;
  const tiers = new Map(withSticky.map((model) => [model, tierOf(input, model)]));
  const inTier = (tier: Tier) => withSticky.filter((model) => tiers.get(model) === tier);
  return [...inTier("healthy"), ...inTier("unknown_fit"), ...inTier("degraded"), ...inTier("open")].slice(
    0,
    input.maxAttempts,
  );
}

/** The models a request would probe: half-open breakers and degraded models due for a recheck. */
export function probeCandidates(input: CandidatePlanInput, models: readonly string[]): string[] {
  return models.filter(
    (model) =>
      breakerPhase(input.breakers[model], input.breakerOptions, input.nowMs) === "half_open" ||
      healthPhase(input.health[model], input.slowOptions, input.nowMs) === "recheck",
  );
}

function tierOf(input: CandidatePlanInput, model: string): Tier {
  const probing = input.probing.has(model);
  const breaker = breakerPhase(input.breakers[model], input.breakerOptions, input.nowMs);
  if (breaker === "open" || (breaker === "half_open" && probing)) return "open";
  const health = healthPhase(input.health[model], input.slowOptions, input.nowMs);
  if (health === "degraded" || (health === "recheck" && probing)) return "degraded";
  // A sticky model served this client a moment ago: it goes first even when the feed says little about it.
  if (input.unknownFit.has(model) && model !== input.stickyModel) return "unknown_fit";
  return "healthy";
}

/** The models a mode may route to, in its order: the ranking for an alias, the client's for a list. */
export function modeModels(mode: RoutingMode, ranked: readonly Candidate[]): string[] {
  switch (mode.kind) {
    case "alias":
      return ranked.filter((c) => !mode.confidentialOnly || c.confidentialCompute).map((c) => c.name);
    case "list":
      return [...mode.models];
    case "direct":
      return [mode.model];
  }
}
