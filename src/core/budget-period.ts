// Budget periods of managed keys (docs/contract.md §15): `day`, `week` (from Monday), `month` and `total`,
// all in UTC, so every isolate and object agrees on when a period rolls over. The clock is passed in.

export type BudgetPeriod = "day" | "week" | "month" | "total";

const DAY_MS = 86_400_000;

/** When the period containing `nowMs` began (0 for `total`). */
export function periodStartMs(period: BudgetPeriod, nowMs: number): number {
  const date = new Date(nowMs);
  const midnight = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  switch (period) {
    case "day":
      return midnight;
    case "week":
      // getUTCDay(): 0 is Sunday; weeks start on Monday.
      return midnight - ((date.getUTCDay() + 6) % 7) * DAY_MS;
    case "month":
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    case "total":
      return 0;
  }
}

/** When the period containing `nowMs` ends (null for `total`, which never resets). */
export function periodEndMs(period: BudgetPeriod, nowMs: number): number | null {
  const start = periodStartMs(period, nowMs);
  const date = new Date(start);
  switch (period) {
    case "day":
      return start + DAY_MS;
    case "week":
      return start + 7 * DAY_MS;
    case "month":
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    case "total":
      return null;
  }
}
