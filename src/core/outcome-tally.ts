// Turns a batch of outcome reports into breaker transitions and counter increments (docs/contract.md §7,
// §11, §13). A retryable failure counts against its model's breaker; so does a committed answer (or part of
// one) whose body then broke or stalled. Only a body that ended `complete` resets the breaker; a client's cancel and a hedge
// that lost count for nothing.
import {
  type BreakerOptions,
  type BreakerState,
  recordBreakerFailure,
  recordBreakerSuccess,
} from "./breaker.ts";
import { type AttemptRecord, committedEnd, isFailedStream, type OutcomeReport } from "./outcome.ts";

/** What the tally reads of a report. */
export type ReportFacts = Omit<OutcomeReport, "attempts" | "stream" | "usage"> & {
  attempts: ReadonlyArray<
    Pick<AttemptRecord, "model" | "outcome" | "reason"> &
      Partial<Pick<AttemptRecord, "ms" | "hedge" | "learned" | "streamEnd" | "status">>
  >;
  stream?: OutcomeReport["stream"];
  usage?: OutcomeReport["usage"];
};

export type CounterMetric =
  | "requests_total"
  | "routed_total"
  | "selection_total"
  | "failover_reason_total"
  | "stream_end_total"
  | "hedges_total"
  | "resumes_total"
  | "tokens_total"
  | "spend_usd_total"
  | "ttfb_seconds_bucket"
  | "ttfb_seconds_sum"
  | "ttfb_seconds_count"
  | "request_duration_seconds_bucket"
  | "request_duration_seconds_sum"
  | "request_duration_seconds_count";

/** A counter increment: metric name, its labels, and how much to add. */
export interface CounterDelta {
  metric: CounterMetric;
  labels: Record<string, string>;
  delta: number;
}

/** Upper bounds (seconds) of the latency histograms' buckets; `+Inf` is implied. */
export const TTFB_BUCKETS_SECONDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;
export const DURATION_BUCKETS_SECONDS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;

/** How each attempt of a report counts for its model's breaker. */
export function breakerVerdicts(
  report: ReportFacts,
): Array<{ model: string; verdict: "failure" | "success" }> {
  const verdicts: Array<{ model: string; verdict: "failure" | "success" }> = [];
  for (const attempt of report.attempts) {
    if (attempt.outcome === "retryable") verdicts.push({ model: attempt.model, verdict: "failure" });
    if (attempt.outcome !== "committed") continue;
    const end = committedEnd(attempt, report.stream);
    if (end === "client_cancel") continue;
    verdicts.push({ model: attempt.model, verdict: isFailedStream(end) ? "failure" : "success" });
  }
  return verdicts;
}

/**
 * Applies a batch to the breakers, one verdict after another. Returns the changed ones. The control plane
 * applies digests (core/outcome-digest.ts); this is the reference their tests hold them to.
 */
export function applyOutcomesToBreakers(
  breakers: Readonly<Record<string, BreakerState>>,
  reports: readonly ReportFacts[],
  options: BreakerOptions,
  nowMs: number,
): Record<string, BreakerState> {
  const changed: Record<string, BreakerState> = {};
  for (const report of reports) {
    for (const { model, verdict } of breakerVerdicts(report)) {
      const current = changed[model] ?? breakers[model];
      changed[model] =
        verdict === "failure" ? recordBreakerFailure(current, options, nowMs) : recordBreakerSuccess();
    }
  }
  return changed;
}

/** Counter increments for a batch, merged by metric and labels. */
export function tallyCounters(reports: readonly ReportFacts[]): CounterDelta[] {
  const merged = new Map<string, CounterDelta>();
  const add = (metric: CounterMetric, labels: Record<string, string>, delta = 1) => {
    const id = `${metric}${JSON.stringify(labels)}`;
    const existing = merged.get(id);
    if (existing) existing.delta += delta;
    else merged.set(id, { metric, labels, delta });
  };
  for (const report of reports) {
    const status = String(report.status);
    // Requests under a rollout carry its arm (docs/contract.md §18).
    const arm: Record<string, string> = report.arm
      ? { rollout: report.arm.rollout, arm: report.arm.arm }
      : {};
    add("requests_total", { status, ...arm });
    if (report.routed) add("routed_total", { status });
    if (report.selected !== null) add("selection_total", { model: report.selected, status });
    for (const attempt of report.attempts) {
      if (attempt.reason !== null) add("failover_reason_total", { reason: attempt.reason });
      if (attempt.hedge) add("hedges_total", { result: attempt.outcome === "committed" ? "won" : "lost" });
    }
    for (const resume of report.resumes ?? [])
      add("resumes_total", { model: resume.model, result: resume.result });
    const committed = report.attempts.find((attempt) => attempt.outcome === "committed");
    if (committed && report.stream) {
      const model = committed.model;
      add("stream_end_total", { model, end: report.stream.end });
      observe(add, "ttfb_seconds", TTFB_BUCKETS_SECONDS, { model, ...arm }, committed.ms ?? 0);
      observe(
        add,
        "request_duration_seconds",
        DURATION_BUCKETS_SECONDS,
        { model, ...arm },
        report.stream.durationMs,
      );
      if (report.usage) {
        add("tokens_total", { model, kind: "prompt" }, report.usage.promptTokens);
        add("tokens_total", { model, kind: "completion" }, report.usage.completionTokens);
        add("spend_usd_total", { model }, report.usage.usd);
      }
    }
  }
  return [...merged.values()];
}

/**
 * One histogram observation: the count of the first bucket it fits (rendering makes them cumulative), the
 * sum in milliseconds (integers keep the stored counters exact), and the count.
 */
function observe(
  add: (metric: CounterMetric, labels: Record<string, string>, delta?: number) => void,
  name: "ttfb_seconds" | "request_duration_seconds",
  buckets: readonly number[],
  labels: Record<string, string>,
  ms: number,
): void {
  const seconds = ms / 1000;
  const bound = buckets.find((upper) => seconds <= upper);
  add(`${name}_bucket`, { ...labels, le: bound === undefined ? "+Inf" : String(bound) });
  add(`${name}_sum`, labels, Math.max(0, Math.round(ms)));
  add(`${name}_count`, labels);
}
