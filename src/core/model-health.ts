// What the fleet has observed of each model (docs/contract.md §13): its recent times to first byte (the last
// few streamed answers), a slow-moving baseline over roughly the last 15 minutes, and its recent failure rate.
// A model is degraded when the median of its recent answers is more than `factor` times its baseline and above
// `minMs`: a median, so one long prompt does not degrade a model, while a few slow answers in a row do. A
// degraded model goes behind the healthy candidates and its sticky clients move on. Without traffic it cannot
// show that it recovered, so `recheckAfterMs` after its last answer it may be tried again (one probe per
// isolate, like a half-open breaker): one fast answer makes it healthy, a slow one keeps it degraded.

export interface ModelStats {
  /** Times to first byte of the last few streamed answers, oldest first. */
  recentTtfbMs: number[];
  /** Slow-moving average: the model's own baseline. */
  baselineTtfbMs: number;
  /** Streamed answers seen. */
  samples: number;
  /** Moving share of attempts that failed (before or after commit). */
  failureRate: number;
  /** When the last time-to-first-byte sample arrived. */
  lastSampleMs: number;
  degraded: boolean;
}

export interface SlowModelOptions {
  /** Degraded when recent > factor × baseline; 0 turns detection off. */
  factor: number;
  /** … and recent > this; 0 turns detection off. */
  minMs: number;
  /** A degraded model is tried again this long after its last answer. */
  recheckAfterMs: number;
}

export type HealthPhase = "healthy" | "degraded" | "recheck";

/** How many recent answers the median looks at, and how many it needs. */
export const RECENT_WINDOW = 5;
const MIN_RECENT = 3;
/** The baseline is the mean of this many first answers before it is trusted and starts following time. */
export const MIN_BASELINE_SAMPLES = 20;
/** Time constant of the baseline: an answer's weight is 1 − e^(−Δt/τ) for Δt since the previous one. */
export const BASELINE_TAU_MS = 15 * 60_000;
/** Weight of one attempt in the failure rate. */
export const FAILURE_WEIGHT = 0.1;

const EMPTY: ModelStats = {
  recentTtfbMs: [],
  baselineTtfbMs: 0,
  samples: 0,
  failureRate: 0,
  lastSampleMs: 0,
  degraded: false,
};

/** The stats after one streamed answer's time to first byte. */
export function recordTtfb(
  stats: ModelStats | undefined,
  ttfbMs: number,
  options: SlowModelOptions,
  nowMs: number,
): ModelStats {
  const current = stats ?? EMPTY;
  const trusted = current.samples >= MIN_BASELINE_SAMPLES;
  const isSlow = (ms: number) =>
    trusted &&
    options.factor > 0 &&
    options.minMs > 0 &&
    ms > options.factor * current.baselineTtfbMs &&
    ms > options.minMs;
  // The baseline is the mean of the first answers, so a slow cold start is outweighed; after that, time moves
  // it, not traffic.
  const baselineWeight = trusted
    ? 1 - Math.exp(-Math.max(0, nowMs - current.lastSampleMs) / BASELINE_TAU_MS)
    : 1 / (current.samples + 1);
  let recent = [...current.recentTtfbMs, ttfbMs].slice(-RECENT_WINDOW);
  let degraded: boolean;
  if (current.degraded) {
    degraded = isSlow(ttfbMs);
    if (!degraded) recent = [ttfbMs];
  } else {
    degraded = recent.length >= MIN_RECENT && isSlow(median(recent));
  }
  return {
    recentTtfbMs: recent,
    baselineTtfbMs: current.baselineTtfbMs + baselineWeight * (ttfbMs - current.baselineTtfbMs),
    samples: current.samples + 1,
    failureRate: current.failureRate,
    lastSampleMs: nowMs,
    degraded,
  };
}

/** The stats after one attempt that failed (true) or succeeded (false). */
export function recordAttemptResult(stats: ModelStats | undefined, failed: boolean): ModelStats {
  const current = stats ?? EMPTY;
  return {
    ...current,
    failureRate: current.failureRate + FAILURE_WEIGHT * ((failed ? 1 : 0) - current.failureRate),
  };
}

/**
 * `failures` of `attempts` in one batch, folded into the failure rate as if they were spread evenly through
 * it: the moving average's weight compounds over the batch, so a digest of many attempts moves the rate as
 * far as the attempts one by one would on average.
 */
export function recordAttemptResults(
  stats: ModelStats | undefined,
  failures: number,
  attempts: number,
): ModelStats {
  const current = stats ?? EMPTY;
  const kept = (1 - FAILURE_WEIGHT) ** attempts;
  return { ...current, failureRate: current.failureRate * kept + (failures / attempts) * (1 - kept) };
}

/** Whether a model is healthy, degraded, or degraded but due to be tried again. */
export function healthPhase(
  stats: ModelStats | undefined,
  options: SlowModelOptions,
  nowMs: number,
): HealthPhase {
  if (!stats?.degraded || options.factor === 0 || options.minMs === 0) return "healthy";
  return nowMs - stats.lastSampleMs >= options.recheckAfterMs ? "recheck" : "degraded";
}

/** The median of the recent answers, what the status page shows as recent time to first byte. */
export function recentTtfbMs(stats: ModelStats): number | null {
  return stats.recentTtfbMs.length === 0 ? null : median(stats.recentTtfbMs);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
