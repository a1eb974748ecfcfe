// Turns a batch of outcome reports into breaker transitions and counter increments (docs/contract.md §7, §11).
import {
  type BreakerOptions,
  type BreakerState,
  recordBreakerFailure,
  recordBreakerSuccess,
} from "./breaker.ts";
import type { AttemptRecord, OutcomeReport } from "./outcome.ts";

/** What the tally reads of a report. */
export type ReportFacts = Omit<OutcomeReport, "attempts"> & {
  attempts: ReadonlyArray<Pick<AttemptRecord, "model" | "outcome" | "reason">>;
};

/** A counter increment: metric name, its labels, and how much to add. */
export interface CounterDelta {
  metric: "requests_total" | "selection_total" | "failover_reason_total";
  labels: Record<string, string>;
  delta: number;
}

/** Every retryable failure counts against its model's breaker; a committed 2xx resets it. Returns the changed. */
export function applyOutcomesToBreakers(
  breakers: Readonly<Record<string, BreakerState>>,
  reports: readonly ReportFacts[],
  options: BreakerOptions,
  nowMs: number,
): Record<string, BreakerState> {
  const changed: Record<string, BreakerState> = {};
  for (const report of reports) {
    for (const attempt of report.attempts) {
      const current = changed[attempt.model] ?? breakers[attempt.model];
      if (attempt.outcome === "retryable")
        changed[attempt.model] = recordBreakerFailure(current, options, nowMs);
      if (attempt.outcome === "committed") changed[attempt.model] = recordBreakerSuccess();
    }
  }
  return changed;
}

/** Counter increments for a batch, merged by metric and labels. */
export function tallyCounters(reports: readonly ReportFacts[]): CounterDelta[] {
  const merged = new Map<string, CounterDelta>();
  const add = (metric: CounterDelta["metric"], labels: Record<string, string>) => {
    const id = `${metric}${JSON.stringify(labels)}`;
    const existing = merged.get(id);
    if (existing) existing.delta += 1;
    else merged.set(id, { metric, labels, delta: 1 });
  };
  for (const report of reports) {
    const status = String(report.status);
    add("requests_total", { status });
    if (report.selected !== null) add("selection_total", { model: report.selected, status });
    for (const attempt of report.attempts) {
      if (attempt.reason !== null) add("failover_reason_total", { reason: attempt.reason });
    }
  }
  return [...merged.values()];
}
