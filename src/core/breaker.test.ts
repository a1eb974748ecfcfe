import { describe, expect, it } from "vitest";
import { type BreakerState, breakerPhase, recordBreakerFailure, recordBreakerSuccess } from "./breaker.ts";

const OPTIONS = { failureThreshold: 3, cooldownMs: 30_000 };

function failTimes(times: number, nowMs: number, start?: BreakerState): BreakerState | undefined {
  let state = start;
  for (let i = 0; i < times; i++) state = recordBreakerFailure(state, OPTIONS, nowMs);
  return state;
}

describe("circuit breaker", () => {
  it("stays closed below the failure threshold", () => {
    expect(breakerPhase(failTimes(2, 0), OPTIONS, 0)).toBe("closed");
  });

  it("opens at the threshold of consecutive failures", () => {
    const state = failTimes(3, 1000);
    expect(state?.openedAtMs).toBe(1000);
    expect(breakerPhase(state, OPTIONS, 1000 + 29_999)).toBe("open");
  });

  it("becomes half-open once the cooldown has passed", () => {
    expect(breakerPhase(failTimes(3, 1000), OPTIONS, 31_000)).toBe("half_open");
  });

  it("re-opens for a full cooldown when the half-open probe fails", () => {
    const probeFailed = recordBreakerFailure(failTimes(3, 1000), OPTIONS, 40_000);
    expect(probeFailed.openedAtMs).toBe(40_000);
    expect(breakerPhase(probeFailed, OPTIONS, 69_999)).toBe("open");
  });

  it("does not extend the cooldown for failures reported while already open", () => {
    const late = recordBreakerFailure(failTimes(3, 1000), OPTIONS, 5000);
    expect(late.openedAtMs).toBe(1000);
  });

  it("closes and forgets failures on a success", () => {
    const state = recordBreakerSuccess();
    expect(breakerPhase(state, OPTIONS, 0)).toBe("closed");
    expect(breakerPhase(failTimes(2, 0, state), OPTIONS, 0)).toBe("closed");
  });

  it("treats an unknown model as closed", () => {
    expect(breakerPhase(undefined, OPTIONS, 0)).toBe("closed");
  });
});
