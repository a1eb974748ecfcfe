// Direct mode's retries (docs/contract.md §19): with one named model there is no other candidate, so a
// retryable failure before commit (§7: a connect error, a header or first-byte timeout, a 5xx, a capacity
// 429) is tried again on the same model, since Chutes often has an instance up again within a second. The
// wait is exponential backoff with full jitter (a random wait between 0 and base × 2^(n−1)), at least what
// the upstream's `retry-after` asked for, and only while the attempts stay within MAX_ATTEMPTS and the whole
// wait within DIRECT_RETRY_BUDGET_MS. Pure: the clock and the randomness are passed in.

export interface DirectRetryOptions {
  /** The first retry waits up to this long; each later one up to twice the one before. */
  baseMs: number;
  /** Every attempt, waits included, must start within this long of the first. */
  budgetMs: number;
  /** The most attempts one request makes (MAX_ATTEMPTS). */
  maxAttempts: number;
}

export interface RetryState {
  /** Attempts made so far (at least one). */
  attempts: number;
  /** Since the first attempt started. */
  elapsedMs: number;
  /** What the last answer's `retry-after` asked for, or null. */
  retryAfterMs: number | null;
}

/** How long to wait before the next attempt on the same model, or null when there is none. */
export function directRetryDelay(
  state: RetryState,
  options: DirectRetryOptions,
  random: () => number = Math.random,
): number | null {
  if (options.budgetMs === 0 || state.attempts >= options.maxAttempts) return null;
  const ceiling = Math.min(options.baseMs * 2 ** (state.attempts - 1), options.budgetMs);
  const jittered = Math.floor(random() * ceiling);
  const delay = Math.max(jittered, state.retryAfterMs ?? 0);
  return state.elapsedMs + delay > options.budgetMs ? null : delay;
}

/** A `retry-after` value (seconds, or an HTTP date) in milliseconds from `nowMs`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null || value.trim() === "") return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}
