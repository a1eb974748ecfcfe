// Per-model circuit breaker as a pure state machine: closed → open after N consecutive retryable failures →
// half-open once the cooldown has passed → closed on a success, open again on a failure.
// Phases are derived from the stored state and the clock, so nothing needs a timer.

/** What is stored per model. A model without an entry is closed with no failures. */
export interface BreakerState {
  consecutiveFailures: number;
  /** When the breaker last opened; null while closed. */
  openedAtMs: number | null;
}

export type BreakerPhase = "closed" | "open" | "half_open";

export interface BreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
}

export const CLOSED_BREAKER: BreakerState = { consecutiveFailures: 0, openedAtMs: null };

/** The phase at `nowMs`: open breakers become half-open (one probe allowed) after the cooldown. */
export function breakerPhase(
  state: BreakerState | undefined,
  options: BreakerOptions,
  nowMs: number,
): BreakerPhase {
  if (!state || state.openedAtMs === null) return "closed";
  return nowMs - state.openedAtMs >= options.cooldownMs ? "half_open" : "open";
}

/** A retryable failure: counts towards opening; a failed half-open probe re-opens for another cooldown. */
export function recordBreakerFailure(
  state: BreakerState | undefined,
  options: BreakerOptions,
  nowMs: number,
): BreakerState {
  const current = state ?? CLOSED_BREAKER;
  const consecutiveFailures = current.consecutiveFailures + 1;
  switch (breakerPhase(current, options, nowMs)) {
    case "closed":
      return {
        consecutiveFailures,
        openedAtMs: consecutiveFailures >= options.failureThreshold ? nowMs : null,
      };
    case "open":
      return { consecutiveFailures, openedAtMs: current.openedAtMs };
    case "half_open":
      return { consecutiveFailures, openedAtMs: nowMs };
  }
}

/** A committed 2xx closes the breaker and forgets the failures. */
export function recordBreakerSuccess(): BreakerState {
  return CLOSED_BREAKER;
}
