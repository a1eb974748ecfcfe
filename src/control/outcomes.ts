// Applies a batch of request outcomes to the fleet's breakers and counters (docs/contract.md §7, §11), as a
// plain function the control-plane object calls with its view, its store and its clock.
import type { BreakerOptions, BreakerState } from "../core/breaker.ts";
import type { OutcomeReport } from "../core/outcome.ts";
import { applyOutcomesToBreakers, type CounterDelta, tallyCounters } from "../core/outcome-tally.ts";
import type { RoutingView } from "../core/snapshot.ts";

/** How far back the status page's "recent failovers" look. */
export const RECENT_FAILOVERS_MS = 15 * 60_000;

/** Where outcomes are written before the object replaces its in-memory view. */
export interface OutcomeWriter {
  saveBreaker(model: string, state: BreakerState): void;
  addCounters(deltas: readonly CounterDelta[]): void;
  addRecentFailovers(deltas: readonly CounterDelta[], nowMs: number, keepMs: number): void;
}

/** Writes the breaker changes and counter increments of `reports`; returns the view with the new breakers. */
export function applyOutcomeReports(
  view: RoutingView,
  reports: readonly OutcomeReport[],
  options: BreakerOptions,
  writer: OutcomeWriter,
  nowMs: number,
): RoutingView {
  const changed = applyOutcomesToBreakers(view.breakers, reports, options, nowMs);
  const breakers = { ...view.breakers };
  for (const [model, state] of Object.entries(changed)) {
    writer.saveBreaker(model, state);
    if (state.consecutiveFailures === 0 && state.openedAtMs === null) delete breakers[model];
    else breakers[model] = state;
  }
  const counters = tallyCounters(reports);
  writer.addCounters(counters);
  writer.addRecentFailovers(counters, nowMs, RECENT_FAILOVERS_MS);
  return { ...view, breakers };
}
