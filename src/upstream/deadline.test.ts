import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDeadline } from "./deadline.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("one timer for an attempt's successive deadlines", () => {
  it("runs the deadline in force when it passes, and only that one", () => {
    const deadline = createDeadline();
    const expired: string[] = [];
    deadline.arm(1_000, () => expired.push("headers"));
    vi.advanceTimersByTime(400);
    deadline.arm(2_000, () => expired.push("first byte"));
    vi.advanceTimersByTime(1_999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(["first byte"]);
    vi.advanceTimersByTime(10_000);
    expect(expired).toEqual(["first byte"]);
  });

  it("sets one timer while deadlines only move later, and a new one when a deadline comes sooner", () => {
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    const deadline = createDeadline();
    const expired: number[] = [];
    deadline.arm(10_000, () => expired.push(10_000));
    for (let i = 0; i < 50; i++) {
      deadline.arm(60_000, () => expired.push(60_000));
      deadline.disarm();
    }
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    deadline.arm(300, () => expired.push(300));
    expect(setTimeoutSpy).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(300);
    expect(expired).toEqual([300]);
    deadline.stop();
    setTimeoutSpy.mockRestore();
  });

  it("runs nothing once disarmed or stopped", () => {
    const deadline = createDeadline();
    const expired: string[] = [];
    deadline.arm(100, () => expired.push("disarmed"));
    deadline.disarm();
    vi.advanceTimersByTime(200);
    deadline.arm(100, () => expired.push("stopped"));
    deadline.stop();
    vi.advanceTimersByTime(200);
    expect(expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
