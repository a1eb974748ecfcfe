// Applies a batch of request outcomes to the fleet's breakers, model health and counters (docs/contract.md §7,
// §11, §13), as a plain function the control-plane object calls with its view, its store and its clock.
import type { Config } from "../config.ts";
import type { BreakerState } from "../core/breaker.ts";
import type { ModelStats } from "../core/model-health.ts";
import type { OutcomeReport } from "../core/outcome.ts";
import {
  applyOutcomesToBreakers,
  applyOutcomesToStats,
  type CounterDelta,
  tallyCounters,
} from "../core/outcome-tally.ts";
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
  const changed = applyOutcomesToBreakers(view.breakers, reports, config.breaker, nowMs);
  const breakers = { ...view.breakers };
  for (const [model, state] of Object.entries(changed)) {
    writer.saveBreaker(model, state);
    if (state.consecutiveFailures === 0 && state.openedAtMs === null) delete breakers[model];
    else breakers[model] = state;
  }
  const health = { ...view.health };
  for (const [model, stats] of Object.entries(
    applyOutcomesToStats(view.health, reports, config.slowModel, nowMs),
  )) {
    writer.saveModelStats(model, stats);
    health[model] = stats;
  }
  const counters = tallyCounters(reports);
  writer.addCounters(counters);
  writer.addRecentFailovers(counters, nowMs, RECENT_FAILOVERS_MS);
  return { ...view, breakers, health };
}
