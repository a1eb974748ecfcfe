// Judging a rollout (docs/contract.md §18): once per period the object that owns a rollout weighs what its
// two arms did since the current step started and says what to do next. A gross breach of the error rate
// aborts at once, whether the step is over or not and even while paused (the fast guard). Otherwise nothing
// happens until the step's time is up; then each arm must have met its floors of requests and sessions, or
// the step is held (too few samples never fail a step, and never pass one either); then the candidate must
// not be significantly worse than the baseline in error rate, time to first byte or cost, or the rollout
// aborts; and if it is not, the rollout moves to the next step, or at the last one is promoted (or awaits an
// operator's promotion). The clock is passed in. Pure.
import { ARM_TTFB_BUCKETS_SECONDS, type ArmStats, failuresOf, histogramPercentile } from "./arm-stats.ts";
import type { Rollout } from "./rollout.ts";

/** What to do with a rollout now. */
export type Verdict =
  /** Nothing to do now: not running, paused, or the step is not over (and the fast guard held). */
  | { action: "none" }
  /** The step is over but an arm has too few samples: keep the step (never fail it). */
  | { action: "hold"; reason: string; figures: JudgementFigures }
  | { action: "advance"; toStep: number; reason: string; figures: JudgementFigures }
  /** The last step passed and promotion is automatic. */
  | { action: "promote"; reason: string; figures: JudgementFigures }
  /** The last step passed and promotion is manual: said once, then `none` while it waits. */
  | { action: "await_promotion"; reason: string; figures: JudgementFigures }
  | { action: "abort"; reason: string; figures: JudgementFigures };

/** What a verdict was based on: both arms' figures since the step started. */
export interface JudgementFigures {
  baseline: ArmFigures;
  candidate: ArmFigures;
  /**
   * One-sided two-proportion z statistic for H0: p_c − p_b ≤ maxErrorRateIncrease; null when not computable.
   */
  errorZ: number | null;
}

/** One arm's figures, as an operator reads them. */
export interface ArmFigures {
  requests: number;
  attempts: number;
  failures: number;
  /** failures / attempts; null without attempts. */
  errorRate: number | null;
  /** Capacity 429s: shown, never counted as failures. */
  capacity: number;
  /** Upper bound of the bucket the p95 falls in; Infinity above the last bucket (null in JSON). */
  ttfbP95Ms: number | null;
  costPerRequestUsd: number | null;
  sessions: number;
}

/** The fast guard judges an arm only once it has this many attempts (either arm). */
export const FAST_GUARD_MIN_REQUESTS = 50;
/** A gross breach is at least 5 × maxErrorRateIncrease above the baseline… */
export const FAST_GUARD_FACTOR = 5;
/** …and never less than 5 pp: with 50 attempts, a smaller margin is a failure or two, which is noise. */
export const FAST_GUARD_MIN_MARGIN = 0.05;
/** The z above which the error-rate increase is significant: one-sided α = 0.01. */
export const Z_ALPHA = 2.326;
/** The least TTFT p95 difference the TTFT guard acts on, whatever the ratio. */
export const MIN_TTFT_GAP_MS = 100;

const NONE: Verdict = { action: "none" };

export function figuresOf(stats: ArmStats): ArmFigures {
  const failures = failuresOf(stats);
  const p95 = histogramPercentile(stats.ttfb, ARM_TTFB_BUCKETS_SECONDS, 0.95);
  return {
    requests: stats.requests,
    attempts: stats.attempts,
    failures,
    errorRate: stats.attempts > 0 ? failures / stats.attempts : null,
    capacity: stats.capacity,
    ttfbP95Ms: p95 === null ? null : Math.round(p95 * 1000),
    costPerRequestUsd: stats.costed > 0 ? stats.costUsd / stats.costed : null,
    sessions: stats.sessions.length,
  };
}

/**
 * How far the candidate's error rate is above the baseline's plus `delta`, in standard errors of the
 * difference (pooled). Null, meaning no evidence either way, when an arm has no attempts or the pooled rate
 * is 0 or 1 (no spread to measure against).
 */
export function errorIncreaseZ(baseline: ArmStats, candidate: ArmStats, delta: number): number | null {
  const nb = baseline.attempts;
  const nc = candidate.attempts;
  if (nb <= 0 || nc <= 0) return null;
  const fb = failuresOf(baseline);
  const fc = failuresOf(candidate);
  const pooled = (fb + fc) / (nb + nc);
  if (!(pooled > 0 && pooled < 1)) return null;
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / nb + 1 / nc));
  return (fc / nc - fb / nb - delta) / standardError;
}

/**
 * The verdict on `rollout` now, from each arm's stats since the current step started. The fast guard runs
 * while running or paused; everything else only while running, once the step's time is up.
 */
export function judge(rollout: Rollout, baseline: ArmStats, candidate: ArmStats, nowMs: number): Verdict {
  if (rollout.state === "aborted" || rollout.state === "promoted") return NONE;
  const delta = rollout.guards.maxErrorRateIncrease;
  const figures: JudgementFigures = {
    baseline: figuresOf(baseline),
    candidate: figuresOf(candidate),
    errorZ: errorIncreaseZ(baseline, candidate, delta),
  };

  const breach = fastGuardBreach(figures, delta);
  if (breach !== null) return { action: "abort", reason: breach, figures };
  if (rollout.state === "paused") return NONE;
  if (nowMs < rollout.stepStartedMs + rollout.stepMinutes * 60_000) return NONE;

  // At weight 100 every session with a sticky key is in the candidate arm: the baseline only has what is left
  // (requests without a key), too little and too different to compare with. So at 100 the baseline's floors
  // and the comparative guards are skipped, the fast guard (above) still runs (against an absolute ceiling
  // when the baseline has too few attempts), and the step passes once the candidate met its own floors: it
  // already passed the comparisons at every lower step.
  const alone = rollout.weight >= 100;
  const missing = [...shortfalls("candidate", figures.candidate, rollout)];
  if (!alone) missing.unshift(...shortfalls("baseline", figures.baseline, rollout));
  if (missing.length > 0) return { action: "hold", reason: missing.join("; "), figures };

  if (!alone) {
    const failed = guardFailure(rollout, figures);
    if (failed !== null) return { action: "abort", reason: failed, figures };
  }

  const step = `step ${rollout.step + 1} of ${rollout.steps.length} (${rollout.weight} %)`;
  const passed = `${step} passed: ${summary(figures, alone)}`;
  if (rollout.step < rollout.steps.length - 1) {
    return { action: "advance", toStep: rollout.step + 1, reason: passed, figures };
  }
  if (rollout.promote === "auto") return { action: "promote", reason: passed, figures };
  if (rollout.awaitingPromotion) return NONE;
  return { action: "await_promotion", reason: `${passed}; awaiting promotion`, figures };
}

/** The reason for a gross breach of the error rate, if there is one and both arms have enough attempts. */
function fastGuardBreach(figures: JudgementFigures, delta: number): string | null {
  const { baseline, candidate } = figures;
  if (candidate.attempts < FAST_GUARD_MIN_REQUESTS || candidate.errorRate === null) return null;
  const margin = Math.max(FAST_GUARD_FACTOR * delta, FAST_GUARD_MIN_MARGIN);
  // With no baseline worth comparing (at weight 100 it only has the requests without a session), the margin
  // becomes an absolute ceiling: a candidate failing that often on its own is rolled back all the same.
  if (baseline.attempts < FAST_GUARD_MIN_REQUESTS || baseline.errorRate === null) {
    if (candidate.errorRate < margin) return null;
    return `candidate error rate ${percent(candidate.errorRate)} ≥ ${points(margin)} with no baseline to compare (fast guard)`;
  }
  if (candidate.errorRate < baseline.errorRate + margin) return null;
  return (
    `candidate error rate ${percent(candidate.errorRate)} ≥ baseline ${percent(baseline.errorRate)}` +
    ` + ${points(margin)} (fast guard)`
  );
}

/** What an arm lacks to be judged: its floors of requests and sessions, and any attempt to measure at all. */
function shortfalls(arm: string, figures: ArmFigures, rollout: Rollout): string[] {
  const missing: string[] = [];
  if (figures.requests < rollout.minRequests) {
    missing.push(`${arm} has ${figures.requests} of ${rollout.minRequests} requests`);
  }
  if (figures.sessions < rollout.minSessions) {
    missing.push(`${arm} has ${figures.sessions} of ${rollout.minSessions} sessions`);
  }
  // Requests whose every attempt was a client error or a capacity 429 measure nothing: an arm with no
  // attempts would otherwise pass every guard for want of evidence.
  if (missing.length === 0 && figures.attempts === 0) {
    missing.push(`${arm} has no attempts that count toward the error rate`);
  }
  return missing;
}

/** The first comparative guard the candidate fails, as a reason; null if it passes them all. */
function guardFailure(rollout: Rollout, figures: JudgementFigures): string | null {
  const { baseline, candidate, errorZ } = figures;
  const { maxErrorRateIncrease, maxTtftP95Ratio, maxCostRatio } = rollout.guards;
  if (errorZ !== null && errorZ > Z_ALPHA) {
    return (
      `candidate error rate ${percent(candidate.errorRate)} significantly above baseline ` +
      `${percent(baseline.errorRate)} + ${points(maxErrorRateIncrease)} (z = ${errorZ.toFixed(1)})`
    );
  }
  if (
    candidate.ttfbP95Ms !== null &&
    baseline.ttfbP95Ms !== null &&
    candidate.ttfbP95Ms > maxTtftP95Ratio * baseline.ttfbP95Ms &&
    // Tens of milliseconds are noise at any ratio: a slower candidate must be slower by something a user feels.
    candidate.ttfbP95Ms - baseline.ttfbP95Ms >= MIN_TTFT_GAP_MS
  ) {
    return (
      `candidate TTFT p95 ${millis(candidate.ttfbP95Ms)} is above ${maxTtftP95Ratio} × baseline ` +
      millis(baseline.ttfbP95Ms)
    );
  }
  if (
    candidate.costPerRequestUsd !== null &&
    baseline.costPerRequestUsd !== null &&
    baseline.costPerRequestUsd > 0 &&
    candidate.costPerRequestUsd > maxCostRatio * baseline.costPerRequestUsd
  ) {
    return (
      `candidate cost per request ${dollars(candidate.costPerRequestUsd)} is above ${maxCostRatio} × ` +
      `baseline ${dollars(baseline.costPerRequestUsd)}`
    );
  }
  return null;
}

function summary(figures: JudgementFigures, alone: boolean): string {
  const { baseline, candidate } = figures;
  const own = `candidate error rate ${percent(candidate.errorRate)} over ${candidate.attempts} attempts`;
  if (alone) return own;
  return `${own}, baseline ${percent(baseline.errorRate)} over ${baseline.attempts}`;
}

const percent = (rate: number | null) => (rate === null ? "n/a" : `${(rate * 100).toFixed(1)} %`);
const points = (fraction: number) => `${(fraction * 100).toFixed(1)} pp`;
const millis = (ms: number) => {
  const last = ARM_TTFB_BUCKETS_SECONDS[ARM_TTFB_BUCKETS_SECONDS.length - 1] ?? 0;
  return Number.isFinite(ms) ? `${ms} ms` : `over ${last * 1000} ms`;
};
const dollars = (usd: number) => `$${usd.toPrecision(3)}`;
