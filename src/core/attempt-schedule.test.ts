import { describe, expect, it } from "vitest";
import { hasCandidateAfter, type ScheduleState, scheduleNext } from "./attempt-schedule.ts";

const state = (changes: Partial<ScheduleState> = {}): ScheduleState => ({
  candidates: ["a", "b", "c"],
  next: 0,
  fits: () => true,
  inFlight: [],
  hedgeAfterMs: 0,
  maxInFlight: 2,
  ...changes,
});

describe("when to start which attempt", () => {
  it("starts the first candidate, then waits on it for its verdict", () => {
    expect(scheduleNext(state(), 0)).toEqual({ kind: "start", index: 0, hedge: false });
    expect(scheduleNext(state({ next: 1, inFlight: [{ startedMs: 0 }] }), 5_000)).toEqual({
      kind: "wait",
      hedgeAtMs: null,
    });
  });

  it("starts the next candidate that still fits once nothing is in flight, and ends when none is left", () => {
    const fits = (model: string) => model !== "b";
    expect(scheduleNext(state({ next: 1, fits }), 0)).toEqual({ kind: "start", index: 2, hedge: false });
    expect(scheduleNext(state({ next: 3 }), 0)).toEqual({ kind: "done" });
    expect(scheduleNext(state({ next: 2, fits: (model) => model === "a" }), 0)).toEqual({ kind: "done" });
  });

  it("hedges when the one attempt in flight has waited hedgeAfterMs, not before", () => {
    const hedging = state({ next: 1, inFlight: [{ startedMs: 1_000 }], hedgeAfterMs: 500 });
    expect(scheduleNext(hedging, 1_200)).toEqual({ kind: "wait", hedgeAtMs: 1_500 });
    expect(scheduleNext(hedging, 1_500)).toEqual({ kind: "start", index: 1, hedge: true });
  });

  it("never has more than maxInFlight attempts, nor hedges with no candidate left", () => {
    const two = [{ startedMs: 0 }, { startedMs: 100 }];
    expect(scheduleNext(state({ next: 2, inFlight: two, hedgeAfterMs: 50 }), 10_000)).toEqual({
      kind: "wait",
      hedgeAtMs: null,
    });
    expect(scheduleNext(state({ next: 3, inFlight: [{ startedMs: 0 }], hedgeAfterMs: 50 }), 10_000)).toEqual({
      kind: "wait",
      hedgeAtMs: null,
    });
  });

  it("tells whether an attempt is the last, counting only candidates that still fit", () => {
    expect(hasCandidateAfter(state(), 1)).toBe(true);
    expect(hasCandidateAfter(state({ fits: (model) => model !== "c" }), 1)).toBe(false);
  });
});
