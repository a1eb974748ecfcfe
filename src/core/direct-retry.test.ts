// Direct mode's retry schedule (docs/contract.md §19): full jitter under a ceiling that doubles per attempt,
// at least the upstream's retry-after, and nothing past MAX_ATTEMPTS or the budget. The randomness is passed in.
import { describe, expect, it } from "vitest";
import { directRetryDelay, parseRetryAfter } from "./direct-retry.ts";

const OPTIONS = { baseMs: 250, budgetMs: 8000, maxAttempts: 5 };
const almostOne = () => 0.999_999;
const state = (attempts: number, elapsedMs = 0, retryAfterMs: number | null = null) => ({
  attempts,
  elapsedMs,
  retryAfterMs,
});

describe("directRetryDelay", () => {
  it("waits a random time under a ceiling that doubles with each attempt", () => {
    expect([1, 2, 3, 4].map((n) => directRetryDelay(state(n), OPTIONS, almostOne))).toEqual([
      249, 499, 999, 1999,
    ]);
    expect(directRetryDelay(state(3), OPTIONS, () => 0)).toBe(0);
    expect(directRetryDelay(state(2), OPTIONS, () => 0.5)).toBe(250);
  });

  it("waits at least what retry-after asked for", () => {
    expect(directRetryDelay(state(1, 0, 3000), OPTIONS, () => 0.5)).toBe(3000);
    expect(directRetryDelay(state(4, 0, 100), OPTIONS, () => 0.5)).toBe(1000);
  });

  it("stops at MAX_ATTEMPTS, when the wait would end past the budget, and when the budget is 0", () => {
    expect(directRetryDelay(state(5), OPTIONS, () => 0)).toBeNull();
    expect(directRetryDelay(state(2, 7800), OPTIONS, () => 0.5)).toBeNull();
    expect(directRetryDelay(state(2, 7700), OPTIONS, () => 0.5)).toBe(250);
    expect(directRetryDelay(state(1, 0, 9000), OPTIONS, () => 0)).toBeNull();
    expect(directRetryDelay(state(1), { ...OPTIONS, budgetMs: 0 }, () => 0)).toBeNull();
  });

  it("never lets the ceiling pass the budget, however many attempts are allowed", () => {
    const many = { baseMs: 250, budgetMs: 1000, maxAttempts: 50 };
    expect(directRetryDelay(state(20), many, almostOne)).toBe(999);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-12-08T10:00:00Z");
  it.each([
    ["2", 2000],
    ["0.5", 500],
    ["Tue, 08 Dec 2026 10:00:03 GMT", 3000],
    ["Tue, 08 Dec 2026 09:59:00 GMT", 0],
    ["soon", null],
    ["", null],
    [null, null],
  ])("reads %j as %j ms", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
