// What a rollout's arm did (docs/contract.md §18), as counts that add up: across the requests of an isolate's
// outcome digest, across a location's isolates, and per minute in the control plane's store. Every upstream
// attempt is charged to its request's arm, failovers the client never saw included: a candidate that fails
// often and is rescued by failover still shows its failures. Client errors are not the model's (a 4xx passed
// through is excluded) and capacity 429s are counted apart from failures. Pure.
import type { AttemptRecord, StreamOutcome } from "./outcome.ts";
import { DURATION_BUCKETS_SECONDS } from "./outcome-tally.ts";

/**
 * Time-to-first-byte buckets of an arm, in seconds: finer than /metrics' so that a p95 compared across arms
 * moves in steps of tens of milliseconds at the speeds models answer, not from 0.1 s straight to 0.25 s.
 */
export const ARM_TTFB_BUCKETS_SECONDS = [
  0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120,
] as const;

export interface ArmStats {
  /** Requests routed in this arm. */
  requests: number;
  /** Upstream attempts that count toward the error rate: committed, or failed for an upstream reason. */
  attempts: number;
  failures: {
    /** 5xx answers, failed connections, a first body byte that broke. */
    server: number;
    /** No headers, or no first body byte, in time. */
    timeout: number;
    /** A committed answer whose stream broke or stalled. */
    broken: number;
  };
  /** Capacity 429s (overload): counted, but not as the model's failures. */
  capacity: number;
  /** Time to first byte of committed attempts: counts per ARM_TTFB_BUCKETS_SECONDS bucket, then one above. */
  ttfb: number[];
  /** Duration of committed answers, per DURATION_BUCKETS_SECONDS bucket, then one for above. */
  duration: number[];
  /** What the arm's answers cost, and how many answers that is over. */
  costUsd: number;
  costed: number;
  /** Sessions seen (short tags of their sticky keys), at most MAX_SESSION_TAGS kept. */
  sessions: string[];
}

/** Session tags an ArmStats keeps: enough to tell a step's floor of sessions was reached. */
export const MAX_SESSION_TAGS = 256;

export function emptyArmStats(): ArmStats {
  return {
    requests: 0,
    attempts: 0,
    failures: { server: 0, timeout: 0, broken: 0 },
    capacity: 0,
    ttfb: new Array(ARM_TTFB_BUCKETS_SECONDS.length + 1).fill(0),
    duration: new Array(DURATION_BUCKETS_SECONDS.length + 1).fill(0),
    costUsd: 0,
    costed: 0,
    sessions: [],
  };
}

/** Adds `from` into `into` (histograms bucket by bucket; session tags as a set, up to the cap). */
export function addArmStats(into: ArmStats, from: ArmStats): ArmStats {
  into.requests += from.requests;
  into.attempts += from.attempts;
  into.failures.server += from.failures.server;
  into.failures.timeout += from.failures.timeout;
  into.failures.broken += from.failures.broken;
  into.capacity += from.capacity;
  for (const [i, count] of from.ttfb.entries()) into.ttfb[i] = (into.ttfb[i] ?? 0) + count;
  for (const [i, count] of from.duration.entries()) into.duration[i] = (into.duration[i] ?? 0) + count;
  into.costUsd += from.costUsd;
  into.costed += from.costed;
  if (into.sessions.length < MAX_SESSION_TAGS) {
    const seen = new Set(into.sessions);
    for (const tag of from.sessions) {
      if (seen.size >= MAX_SESSION_TAGS) break;
      seen.add(tag);
    }
    into.sessions = [...seen];
  }
  return into;
}

export function failuresOf(stats: ArmStats): number {
  return stats.failures.server + stats.failures.timeout + stats.failures.broken;
}

const TIMEOUTS = new Set(["upstream_header_timeout", "upstream_first_body_byte_timeout"]);

const count = (histogram: number[], bucket: number) => {
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
};

function bucketOf(buckets: readonly number[], seconds: number): number {
  const index = buckets.findIndex((upper) => seconds <= upper);
  return index === -1 ? buckets.length : index;
}

/** What a request's outcome report says that its arm's stats need. */
export interface ArmReport {
  attempts: ReadonlyArray<
    Pick<AttemptRecord, "outcome" | "reason"> & Partial<Pick<AttemptRecord, "ms" | "status" | "streamEnd">>
  >;
  stream?: Pick<StreamOutcome, "end" | "durationMs"> | null;
  usage?: { usd: number } | null;
}

/** One request's contribution to its arm. `session`: a short tag of its sticky key. */
export function armStatsOf(report: ArmReport, session: string | null): ArmStats {
  const stats = emptyArmStats();
  stats.requests = 1;
  if (session !== null) stats.sessions.push(session);
  for (const attempt of report.attempts) {
    if (attempt.outcome === "committed") {
      stats.attempts += 1;
      count(stats.ttfb, bucketOf(ARM_TTFB_BUCKETS_SECONDS, (attempt.ms ?? 0) / 1000));
      const end = attempt.streamEnd ?? report.stream?.end;
      if (end === "upstream_error" || end === "idle_timeout") stats.failures.broken += 1;
    } else if (attempt.outcome === "retryable" && attempt.reason !== null) {
      if (attempt.reason === "upstream_overloaded") {
        stats.capacity += 1;
        continue;
      }
      stats.attempts += 1;
      if (TIMEOUTS.has(attempt.reason)) stats.failures.timeout += 1;
      else stats.failures.server += 1;
    } else if (attempt.outcome === "passthrough" && (attempt.status ?? 0) >= 500) {
      stats.attempts += 1;
      stats.failures.server += 1;
    }
  }
  if (report.stream)
    count(stats.duration, bucketOf(DURATION_BUCKETS_SECONDS, report.stream.durationMs / 1000));
  if (report.usage) {
    stats.costUsd += report.usage.usd;
    stats.costed += 1;
  }
  return stats;
}

/** The p-th percentile (0–1) of a histogram, as the upper bound of the bucket it falls in (seconds); null if empty. */
export function histogramPercentile(
  counts: readonly number[],
  bounds: readonly number[],
  p: number,
): number | null {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (const [i, count] of counts.entries()) {
    seen += count;
    if (seen >= rank) return bounds[i] ?? Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}
