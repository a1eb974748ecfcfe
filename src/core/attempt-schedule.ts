// When to start which upstream attempt (docs/contract.md §7, §13), as a pure decision over the state of one
// request's failover: the next candidate that still fits starts when nothing is in flight; with hedging, when
// the one attempt in flight has had no verdict for `hedgeAfterMs`, the next starts beside it, never more than
// `maxInFlight` at once. The failover loop (upstream/failover.ts) does the I/O each step asks for.

export interface ScheduleState {
  candidates: readonly string[];
  /** Index of the first candidate not yet tried. */
  next: number;
  /** Whether a candidate still fits the request (judged anew after an engine's refusal). */
  fits: (model: string) => boolean;
  /** When each attempt in flight started. */
  inFlight: ReadonlyArray<{ startedMs: number }>;
  /** Start a hedge after this long without a verdict; 0 = never. */
  hedgeAfterMs: number;
  maxInFlight: number;
}

export type ScheduleStep =
  /** Start the candidate at `index` now; `hedge` when it runs beside one in flight. */
  | { kind: "start"; index: number; hedge: boolean }
  /** Wait for a verdict, or until `hedgeAtMs` (null: no hedge to come). */
  | { kind: "wait"; hedgeAtMs: number | null }
  /** Nothing in flight and no candidate left: the failover is over. */
  | { kind: "done" };

/** The index of the next candidate that still fits, from `from`; candidates.length when none does. */
export function nextFitting(state: Pick<ScheduleState, "candidates" | "fits">, from: number): number {
  let index = from;
  while (index < state.candidates.length && !state.fits(state.candidates[index] as string)) index++;
  return index;
}

export function scheduleNext(state: ScheduleState, nowMs: number): ScheduleStep {
  const index = nextFitting(state, state.next);
  const hasNext = index < state.candidates.length;
  const [only, ...others] = state.inFlight;
  if (only === undefined) return hasNext ? { kind: "start", index, hedge: false } : { kind: "done" };
  const mayHedge =
    hasNext && state.hedgeAfterMs > 0 && others.length === 0 && state.inFlight.length < state.maxInFlight;
  if (!mayHedge) return { kind: "wait", hedgeAtMs: null };
  const hedgeAtMs = only.startedMs + state.hedgeAfterMs;
  return nowMs >= hedgeAtMs ? { kind: "start", index, hedge: true } : { kind: "wait", hedgeAtMs };
}

/** Whether a candidate is left to try after the one about to start (an answer then need not be kept whole). */
export function hasCandidateAfter(state: Pick<ScheduleState, "candidates" | "fits">, index: number): boolean {
  return nextFitting(state, index + 1) < state.candidates.length;
}
