import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BudgetPeriod, periodEndMs, periodStartMs } from "./budget-period.ts";

const at = (iso: string) => Date.parse(iso);

describe("budget periods", () => {
  it.each<[BudgetPeriod, string, string, string | null]>([
    ["day", "2026-11-25T18:20:54Z", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"],
    ["week", "2026-11-25T18:20:54Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"],
    ["week", "2026-11-29T23:59:59Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"],
    ["week", "2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"],
    ["month", "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"],
    ["month", "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"],
    ["total", "2026-11-25T18:20:54Z", "1970-01-01T00:00:00Z", null],
  ])("a %s budget at %s runs from %s to %s (UTC)", (period, now, start, end) => {
    expect(periodStartMs(period, at(now))).toBe(at(start));
    expect(periodEndMs(period, at(now))).toBe(end === null ? null : at(end));
  });

  it("always places now inside its period, and the next period starts where this one ends", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<BudgetPeriod>("day", "week", "month"),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (period, nowMs) => {
          const start = periodStartMs(period, nowMs);
          const end = periodEndMs(period, nowMs) as number;
          expect(start).toBeLessThanOrEqual(nowMs);
          expect(nowMs).toBeLessThan(end);
          expect(periodStartMs(period, end)).toBe(end);
        },
      ),
      { numRuns: 500 },
    );
  });
});
