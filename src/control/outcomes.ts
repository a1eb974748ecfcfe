// Applies request outcomes to the fleet's breakers, model health and counters (docs/contract.md §7, §11, §13),
// as a plain function the control-plane object calls with its view, its store and its clock. Outcomes arrive
// as digests (core/outcome-digest.ts), merged per location by the aggregator objects.
import type { Config } from "../config.ts";
import type { BreakerState } from "../core/breaker.ts";
import { mergeLimitMaps } from "../core/capabilities.ts";
import type { ModelStats } from "../core/model-health.ts";
import type { OutcomeReport } from "../core/outcome.ts";
import {
  applyDigestToBreakers,
  applyDigestToStats,
  digestReports,
  type OutcomeDigest,
} from "../core/outcome-digest.ts";
import type { CounterDelta } from "../core/outcome-tally.ts";
import type { RoutingView } from "../core/snapshot.ts";

/** How far back the status page's "recent failovers" look. */
export const RECENT_FAILOVERS_MS = 15 * 60_000;

/** Where outcomes are written before the object replaces its in-memory view. */
export interface OutcomeWriter {
  saveBreaker(model: string, state: BreakerState): void;
  saveModelStats(model: string, stats: ModelStats): void;
  addCounters(deltas: readonly CounterDelta[]): void;
  addRecentFailovers(deltas: readonly CounterDelta[], nowMs: number, keepMs: number): void;
}

/** Writes what `reports` change; returns the view with the new breakers and model health. */
export function applyOutcomeReports(
  view: RoutingView,
  reports: readonly OutcomeReport[],
  config: Pick<Config, "breaker" | "slowModel">,
  writer: OutcomeWriter,
  nowMs: number,
): RoutingView {
  return applyOutcomeDigest(view, digestReports(reports, nowMs), config, writer, nowMs);
}

/**
 * Writes what a digest changes; returns the view with the new breakers, model health and learned limits
 * (kept in memory only: a limit lost with the object is learned again from the next refusal).
 */
export function applyOutcomeDigest(
  view: RoutingView,
  digest: OutcomeDigest,
  config: Pick<Config, "breaker" | "slowModel">,
  writer: OutcomeWriter,
  nowMs: number,
): RoutingView {
  const changed = applyDigestToBreakers(view.breakers, digest, config.breaker, nowMs);
  const breakers = { ...view.breakers };
  for (const [model, state] of Object.entries(changed)) {
    writer.saveBreaker(model, state);
    if (state.consecutiveFailures === 0 && state.openedAtMs === null) delete breakers[model];
    else breakers[model] = state;
  }
  const health = { ...view.health };
  for (const [model, stats] of Object.entries(applyDigestToStats(view.health, digest, config.slowModel))) {
    writer.saveModelStats(model, stats);
    health[model] = stats;
  }
  const { counters } = digest;
  writer.addCounters(counters);
  writer.addRecentFailovers(counters, nowMs, RECENT_FAILOVERS_MS);
  const limits = mergeLimitMaps({ ...view.limits }, digest.limits ?? {}, nowMs);
  return { ...view, breakers, health, limits };
}
