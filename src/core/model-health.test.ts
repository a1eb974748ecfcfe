import { describe, expect, it } from "vitest";
import {
  healthPhase,
  type ModelStats,
  recentTtfbMs,
  recordAttemptResult,
  recordTtfb,
} from "./model-health.ts";

const OPTIONS = { factor: 4, minMs: 2000, recheckAfterMs: 30_000 };

/** Feeds answers one second apart, starting at `startMs`. */
function feed(stats: ModelStats | undefined, ttfbs: number[], startMs = 0): ModelStats {
  let current = stats;
  ttfbs.forEach((ms, index) => {
    current = recordTtfb(current, ms, OPTIONS, startMs + index * 1000);
  });
  if (!current) throw new Error("no answers fed");
  return current;
}

/** Twenty answers averaging 800 ms: a trusted baseline. */
const WARM = feed(
  undefined,
  Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 700 : 900)),
);

describe("model health", () => {
  it("learns a baseline from the first answers and stays healthy at its usual speed", () => {
    expect(WARM.baselineTtfbMs).toBeCloseTo(800, 6);
    const steady = feed(WARM, [750, 850, 900, 700], 30_000);
    expect(healthPhase(steady, OPTIONS, 34_000)).toBe("healthy");
  });

  it("outweighs a slow cold start in its baseline", () => {
    const coldStart = feed(undefined, [5000, 5000, ...Array.from({ length: 18 }, () => 500)]);
    expect(coldStart.baselineTtfbMs).toBeLessThan(1000);
    expect(feed(coldStart, [4000, 4000, 4000], 30_000).degraded).toBe(true);
  });

  it("is not degraded by one slow answer, however slow (a long prompt)", () => {
    const outlier = feed(WARM, [60_000, 800], 30_000);
    expect(outlier.degraded).toBe(false);
    expect(healthPhase(outlier, OPTIONS, 32_000)).toBe("healthy");
  });

  it("is degraded once most of its last few answers are over factor × baseline and SLOW_MODEL_MIN_MS", () => {
    const slowing = feed(WARM, [8000, 8000], 30_000);
    expect(slowing.degraded).toBe(false);
    const slow = feed(slowing, [8000], 32_000);
    expect(slow.degraded).toBe(true);
    expect(healthPhase(slow, OPTIONS, 33_000)).toBe("degraded");
    expect(recentTtfbMs(slow)).toBe(8000);
  });

  it("is not degraded below SLOW_MODEL_MIN_MS, however many times slower than its baseline", () => {
    const fast = feed(
      undefined,
      Array.from({ length: 20 }, () => 100),
    );
    expect(feed(fast, [1500, 1500, 1500, 1500], 30_000).degraded).toBe(false);
  });

  it("is due for a recheck after the recheck time, healthy again on one fast answer, still degraded on a slow one", () => {
    const slow = feed(WARM, [8000, 8000, 8000], 30_000);
    expect(healthPhase(slow, OPTIONS, 32_000 + 29_999)).toBe("degraded");
    expect(healthPhase(slow, OPTIONS, 32_000 + 30_000)).toBe("recheck");
    const recovered = recordTtfb(slow, 900, OPTIONS, 62_000);
    expect(healthPhase(recovered, OPTIONS, 62_001)).toBe("healthy");
    expect(recovered.recentTtfbMs).toEqual([900]);
    const stillSlow = recordTtfb(slow, 7000, OPTIONS, 62_000);
    expect(healthPhase(stillSlow, OPTIONS, 62_001)).toBe("degraded");
  });

  it("moves its baseline with time, not with the number of answers", () => {
    let burst = WARM;
    for (let i = 0; i < 50; i++) burst = recordTtfb(burst, 8000, OPTIONS, 20_000);
    expect(burst.baselineTtfbMs).toBeLessThan(850);
    const aQuarterHourLater = recordTtfb(WARM, 8000, OPTIONS, 19_000 + 15 * 60_000);
    expect(aQuarterHourLater.baselineTtfbMs).toBeGreaterThan(5000);
  });

  it("counts failures into a moving failure rate", () => {
    let stats: ModelStats | undefined;
    for (let i = 0; i < 10; i++) stats = recordAttemptResult(stats, true);
    expect(stats?.failureRate).toBeGreaterThan(0.6);
    for (let i = 0; i < 30; i++) stats = recordAttemptResult(stats, false);
    expect(stats?.failureRate).toBeLessThan(0.05);
  });

  it("reports every model healthy when detection is off", () => {
    const slow = feed(WARM, [8000, 8000, 8000], 30_000);
    expect(healthPhase(slow, { ...OPTIONS, factor: 0 }, 33_000)).toBe("healthy");
    expect(healthPhase(slow, { ...OPTIONS, minMs: 0 }, 33_000)).toBe("healthy");
  });
});
