// What a batch of request outcomes teaches the fleet, merged so that its size does not grow with the traffic
// behind it (docs/contract.md §13; research/SCALE.md). An isolate digests the reports of one flush; its
// location's aggregator object merges the digests of all its isolates; the control plane applies one digest
// per location per second. Per model, a digest keeps what the breaker needs (failures before the first
// success, whether there was a success, failures after the last one: applied in that order they leave the
// breaker exactly where the whole sequence would, because a success closes it whatever came before), counts
// for the failure rate, and the latest times to first byte. Counters are summed by metric and labels. Limits
// that engines' refusals showed (docs/contract.md §16) travel along, merged to the tightest.

import { type ArmStats, addArmStats, armStatsOf, emptyArmStats } from "./arm-stats.ts";
import {
  type BreakerOptions,
  type BreakerState,
  breakerPhase,
  recordBreakerFailure,
  recordBreakerSuccess,
} from "./breaker.ts";
import { LEARNED_LIMIT_TTL_MS, type LearnedLimit, mergeLimitMaps } from "./capabilities.ts";
import {
  MIN_BASELINE_SAMPLES,
  type ModelStats,
  recordAttemptResults,
  recordTtfb,
  type SlowModelOptions,
} from "./model-health.ts";
import { breakerVerdicts, type CounterDelta, type ReportFacts, tallyCounters } from "./outcome-tally.ts";

/**
 * How many of a model's latest times to first byte a digest keeps: as many as a new model's baseline is the
 * mean of, so one busy second of one location can set it; the recent median reads only the last 5.
 */
export const TTFB_SAMPLES_KEPT = MIN_BASELINE_SAMPLES;

export interface ModelDigest {
  /** Breaker failures before the first success (all of them when there was none). */
  leadingFailures: number;
  sawSuccess: boolean;
  /** Breaker failures after the last success. */
  trailingFailures: number;
  failures: number;
  successes: number;
  /** Times to first byte of the latest streamed answers, oldest first, with when each was seen. */
  ttfb: Array<{ ms: number; atMs: number }>;
}

export interface OutcomeDigest {
  /** Requests behind the digest. */
  reports: number;
  models: Record<string, ModelDigest>;
  counters: CounterDelta[];
  /** What refusals showed about models' limits, each held until its `untilMs`. */
  limits: Record<string, LearnedLimit>;
  /** What each rollout arm did (docs/contract.md §18), by `armKey`. */
  arms?: Record<string, ArmStats>;
}

/** The key of a rollout arm's stats in a digest. */
export function armKey(rollout: string, arm: "baseline" | "candidate"): string {
  return `${rollout}|${arm}`;
}

export function emptyDigest(): OutcomeDigest {
  return { reports: 0, models: {}, counters: [], limits: {} };
}

/** A digest of one batch of reports, seen at `nowMs`. */
export function digestReports(reports: readonly ReportFacts[], nowMs: number): OutcomeDigest {
  const digest = emptyDigest();
  digest.reports = reports.length;
  for (const report of reports) {
    for (const { model, verdict } of breakerVerdicts(report)) {
      const entry = modelEntry(digest, model);
      if (verdict === "success") {
        entry.sawSuccess = true;
        entry.trailingFailures = 0;
        entry.successes += 1;
      } else {
        if (entry.sawSuccess) entry.trailingFailures += 1;
        else entry.leadingFailures += 1;
        entry.failures += 1;
      }
    }
    const committed = report.attempts.find((attempt) => attempt.outcome === "committed");
    if (committed?.ms !== undefined && report.stream?.eventStream) {
      keepLatest(modelEntry(digest, committed.model).ttfb, [{ ms: committed.ms, atMs: nowMs }]);
    }
    for (const { model, learned } of report.attempts) {
      if (!learned) continue;
      const limit = { ...learned, untilMs: nowMs + LEARNED_LIMIT_TTL_MS };
      mergeLimitMaps(digest.limits, { [model]: limit }, nowMs);
    }
  }
  digest.counters = tallyCounters(reports);
  for (const report of reports) {
    if (!report.arm) continue;
    digest.arms ??= {};
    const key = armKey(report.arm.rollout, report.arm.arm);
    digest.arms[key] = addArmStats(
      digest.arms[key] ?? emptyArmStats(),
      armStatsOf(report, report.arm.session),
    );
  }
  return digest;
}

/** `later` merged into `earlier` (which it changes): what came after is applied after. */
export function mergeDigest(earlier: OutcomeDigest, later: OutcomeDigest): OutcomeDigest {
  earlier.reports += later.reports;
  for (const [model, next] of Object.entries(later.models)) {
    const entry = earlier.models[model];
    if (!entry) {
      earlier.models[model] = { ...next, ttfb: [...next.ttfb] };
      continue;
    }
    if (next.sawSuccess) {
      if (!entry.sawSuccess) entry.leadingFailures += next.leadingFailures;
      entry.sawSuccess = true;
      entry.trailingFailures = next.trailingFailures;
    } else if (entry.sawSuccess) {
      entry.trailingFailures += next.leadingFailures;
    } else {
      entry.leadingFailures += next.leadingFailures;
    }
    entry.failures += next.failures;
    entry.successes += next.successes;
    keepLatest(entry.ttfb, next.ttfb);
  }
  const counters = new Map(earlier.counters.map((c) => [counterId(c), c]));
  for (const counter of later.counters) {
    const existing = counters.get(counterId(counter));
    if (existing) existing.delta += counter.delta;
    else counters.set(counterId(counter), { ...counter, labels: { ...counter.labels } });
  }
  earlier.counters = [...counters.values()];
  for (const [key, stats] of Object.entries(later.arms ?? {})) {
    earlier.arms ??= {};
    earlier.arms[key] = addArmStats(earlier.arms[key] ?? emptyArmStats(), stats);
  }
  // A digest from before limits travelled has none.
  earlier.limits = mergeLimitMaps(earlier.limits ?? {}, later.limits ?? {}, 0);
  return earlier;
}

/** Applies a digest to the breakers; returns the changed ones. */
export function applyDigestToBreakers(
  breakers: Readonly<Record<string, BreakerState>>,
  digest: OutcomeDigest,
  options: BreakerOptions,
  nowMs: number,
): Record<string, BreakerState> {
  const changed: Record<string, BreakerState> = {};
  for (const [model, entry] of Object.entries(digest.models)) {
    if (entry.failures === 0 && entry.successes === 0) continue;
    let state = recordFailures(breakers[model], entry.leadingFailures, options, nowMs);
    if (entry.sawSuccess)
      state = recordFailures(recordBreakerSuccess(), entry.trailingFailures, options, nowMs);
    if (state) changed[model] = state;
  }
  return changed;
}

/** Applies a digest to the models' observed stats; returns the changed ones. */
export function applyDigestToStats(
  stats: Readonly<Record<string, ModelStats>>,
  digest: OutcomeDigest,
  options: SlowModelOptions,
): Record<string, ModelStats> {
  const changed: Record<string, ModelStats> = {};
  for (const [model, entry] of Object.entries(digest.models)) {
    let current = stats[model];
    const attempts = entry.failures + entry.successes;
    if (attempts > 0) current = recordAttemptResults(current, entry.failures, attempts);
    for (const sample of entry.ttfb) current = recordTtfb(current, sample.ms, options, sample.atMs);
    if (current) changed[model] = current;
  }
  return changed;
}

/** `count` breaker failures in a row. Once the breaker is open, more only add to the count. */
function recordFailures(
  state: BreakerState | undefined,
  count: number,
  options: BreakerOptions,
  nowMs: number,
): BreakerState | undefined {
  let current = state;
  let left = count;
  while (left > 0 && (current === undefined || breakerPhase(current, options, nowMs) !== "open")) {
    current = recordBreakerFailure(current, options, nowMs);
    left -= 1;
  }
  if (left > 0 && current) current = { ...current, consecutiveFailures: current.consecutiveFailures + left };
  return current;
}

function modelEntry(digest: OutcomeDigest, model: string): ModelDigest {
  let entry = digest.models[model];
  if (!entry) {
    entry = {
      leadingFailures: 0,
      sawSuccess: false,
      trailingFailures: 0,
      failures: 0,
      successes: 0,
      ttfb: [],
    };
    digest.models[model] = entry;
  }
  return entry;
}

function keepLatest(
  into: Array<{ ms: number; atMs: number }>,
  more: ReadonlyArray<{ ms: number; atMs: number }>,
): void {
  into.push(...more);
  if (into.length > TTFB_SAMPLES_KEPT) into.splice(0, into.length - TTFB_SAMPLES_KEPT);
}

function counterId(counter: CounterDelta): string {
  return `${counter.metric}${JSON.stringify(counter.labels)}`;
}
