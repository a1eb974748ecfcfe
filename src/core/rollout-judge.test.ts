import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ARM_TTFB_BUCKETS_SECONDS, type ArmStats, emptyArmStats } from "./arm-stats.ts";
import { DEFAULT_GUARDS, DEFAULT_STEPS, type Rollout } from "./rollout.ts";
import {
  errorIncreaseZ,
  FAST_GUARD_MIN_REQUESTS,
  figuresOf,
  judge,
  type Verdict,
  Z_ALPHA,
} from "./rollout-judge.ts";

const MINUTE = 60_000;
const STARTED = 1_000_000;
/** Just as the default 15-minute step is over. */
const STEP_OVER = STARTED + 15 * MINUTE;
/** Halfway through it. */
const MID_STEP = STARTED + 7 * MINUTE;

function rollout(overrides: Partial<Rollout> = {}): Rollout {
  const step = overrides.step ?? 0;
  const steps = overrides.steps ?? DEFAULT_STEPS;
  return {
    id: "r1",
    name: "try the new model",
    match: "old-model",
    candidate: "new-model",
    steps,
    stepMinutes: 15,
    minRequests: 200,
    minSessions: 20,
    guards: DEFAULT_GUARDS,
    promote: "auto",
    cooldownMinutes: 60,
    state: "running",
    step,
    weight: steps[step] ?? 0,
    stepStartedMs: STARTED,
    awaitingPromotion: false,
    abortedMs: null,
    createdMs: 0,
    lastHold: null,
    ...overrides,
  };
}

interface ArmShape {
  requests?: number;
  /** Attempts; as many as requests unless told. */
  attempts?: number;
  failures?: number;
  sessions?: number;
  /** Every successful attempt's time to first byte, seconds (Infinity: above the last bucket). */
  ttfb?: number;
  /** Cost of each request, USD; null: nothing costed. */
  costPerRequest?: number | null;
}

/** An arm's stats since the step started: healthy and plentiful unless told otherwise. */
function arm(shape: ArmShape = {}): ArmStats {
  const { requests = 400, failures = 0, sessions = 40, ttfb = 0.5, costPerRequest = 0.001 } = shape;
  const attempts = shape.attempts ?? requests;
  const stats = emptyArmStats();
  stats.requests = requests;
  stats.attempts = attempts;
  stats.failures.server = failures;
  const bucket = ARM_TTFB_BUCKETS_SECONDS.findIndex((upper) => ttfb <= upper);
  stats.ttfb[bucket === -1 ? ARM_TTFB_BUCKETS_SECONDS.length : bucket] = Math.max(0, attempts - failures);
  if (costPerRequest !== null) {
    stats.costUsd = costPerRequest * requests;
    stats.costed = requests;
  }
  stats.sessions = Array.from({ length: sessions }, (_, i) => `s${i}`);
  return stats;
}

const EMPTY = (): ArmStats => emptyArmStats();

function reasonOf(verdict: Verdict): string {
  return "reason" in verdict ? verdict.reason : "";
}

describe("judge: what is not judged", () => {
  it("leaves aborted and promoted rollouts alone, whatever the figures", () => {
    for (const state of ["aborted", "promoted"] as const) {
      expect(judge(rollout({ state }), arm(), arm({ failures: 400 }), STEP_OVER)).toEqual({ action: "none" });
      expect(judge(rollout({ state }), arm(), arm(), STEP_OVER)).toEqual({ action: "none" });
    }
  });

  it("does nothing before the step is over when the candidate is healthy", () => {
    expect(judge(rollout(), arm(), arm(), MID_STEP)).toEqual({ action: "none" });
    expect(judge(rollout(), arm(), arm(), STEP_OVER - 1)).toEqual({ action: "none" });
    expect(judge(rollout(), arm(), arm(), STEP_OVER).action).toBe("advance");
  });

  it("takes the step's own length", () => {
    const short = rollout({ stepMinutes: 2 });
    expect(judge(short, arm(), arm(), STARTED + 2 * MINUTE - 1).action).toBe("none");
    expect(judge(short, arm(), arm(), STARTED + 2 * MINUTE).action).toBe("advance");
  });
});

describe("judge: the fast guard", () => {
  it("aborts a gross breach before the step is over, naming both rates", () => {
    const verdict = judge(
      rollout(),
      arm({ requests: 200, failures: 1 }),
      arm({ requests: 200, failures: 24 }),
      MID_STEP,
    );
    expect(verdict.action).toBe("abort");
    expect(reasonOf(verdict)).toBe("candidate error rate 12.0 % ≥ baseline 0.5 % + 5.0 pp (fast guard)");
  });

  it("aborts while paused", () => {
    const paused = rollout({ state: "paused" });
    const verdict = judge(paused, arm({ requests: 100 }), arm({ requests: 100, failures: 30 }), MID_STEP);
    expect(verdict.action).toBe("abort");
    expect(reasonOf(verdict)).toContain("(fast guard)");
    expect(
      judge(paused, arm({ requests: 100 }), arm({ requests: 100, failures: 30 }), STEP_OVER).action,
    ).toBe("abort");
  });

  it("aborts while a manual promotion is awaited", () => {
    const awaiting = rollout({ step: 3, promote: "manual", awaitingPromotion: true });
    expect(judge(awaiting, arm(), arm({ failures: 100 }), STEP_OVER).action).toBe("abort");
  });

  it("does not step a paused rollout otherwise", () => {
    const paused = rollout({ state: "paused" });
    expect(judge(paused, arm(), arm(), STEP_OVER)).toEqual({ action: "none" });
    expect(judge(paused, arm(), arm(), STEP_OVER + 60 * MINUTE)).toEqual({ action: "none" });
    expect(judge(paused, EMPTY(), EMPTY(), STEP_OVER)).toEqual({ action: "none" });
  });

  it("waits for FAST_GUARD_MIN_REQUESTS attempts in each arm", () => {
    const few = FAST_GUARD_MIN_REQUESTS - 1;
    // A candidate failing every attempt, but too few of them.
    expect(judge(rollout(), arm(), arm({ requests: few, failures: few }), MID_STEP).action).toBe("none");
    // A baseline too small to compare with (tiny traffic, or weight 100): the margin is an absolute ceiling.
    const alone = judge(rollout(), arm({ requests: few }), arm({ failures: 400 }), MID_STEP);
    expect(alone.action).toBe("abort");
    expect(reasonOf(alone)).toContain("with no baseline to compare (fast guard)");
    expect(judge(rollout(), EMPTY(), arm({ failures: 400 }), MID_STEP).action).toBe("abort");
    // Under the ceiling, with no baseline: nothing to say mid-step.
    expect(judge(rollout(), EMPTY(), arm({ requests: 400, failures: 10 }), MID_STEP).action).toBe("none");
    const enough = FAST_GUARD_MIN_REQUESTS;
    expect(
      judge(rollout(), arm({ requests: enough }), arm({ requests: enough, failures: enough }), MID_STEP)
        .action,
    ).toBe("abort");
  });

  it("lets an increase short of the gross margin wait for the step's end", () => {
    // 4.5 pp above the baseline: not gross, so nothing mid-step…
    const baseline = arm({ requests: 2_000, failures: 20 });
    const candidate = arm({ requests: 2_000, failures: 110 });
    expect(judge(rollout(), baseline, candidate, MID_STEP)).toEqual({ action: "none" });
    // …but significant once the step is over.
    const verdict = judge(rollout(), baseline, candidate, STEP_OVER);
    expect(verdict.action).toBe("abort");
    expect(reasonOf(verdict)).not.toContain("fast guard");
  });

  it("scales its margin with the tolerated increase, never below 5 pp", () => {
    const tolerant = rollout({ guards: { ...DEFAULT_GUARDS, maxErrorRateIncrease: 0.03 } });
    // 10 pp above: gross for δ = 1 pp (5 pp), not for δ = 3 pp (15 pp).
    const baseline = arm({ requests: 200, failures: 2 });
    const candidate = arm({ requests: 200, failures: 22 });
    expect(judge(rollout(), baseline, candidate, MID_STEP).action).toBe("abort");
    expect(judge(tolerant, baseline, candidate, MID_STEP).action).toBe("none");
    // With no increase tolerated at all, a failure or two in a healthy arm is not a gross breach.
    const strict = rollout({ guards: { ...DEFAULT_GUARDS, maxErrorRateIncrease: 0 } });
    expect(judge(strict, arm({ requests: 100 }), arm({ requests: 100 }), MID_STEP)).toEqual({
      action: "none",
    });
    expect(judge(strict, arm({ requests: 100 }), arm({ requests: 100, failures: 2 }), MID_STEP)).toEqual({
      action: "none",
    });
  });
});

describe("judge: low traffic", () => {
  it("holds a step whose arms have too few requests or sessions, saying what is missing", () => {
    const verdict = judge(rollout(), arm({ requests: 120 }), arm(), STEP_OVER);
    expect(verdict.action).toBe("hold");
    expect(reasonOf(verdict)).toBe("baseline has 120 of 200 requests");
    const both = judge(rollout(), arm({ sessions: 5 }), arm({ requests: 30, sessions: 3 }), STEP_OVER);
    expect(both.action).toBe("hold");
    expect(reasonOf(both)).toBe(
      "baseline has 5 of 20 sessions; candidate has 30 of 200 requests; candidate has 3 of 20 sessions",
    );
  });

  it("holds rather than fails a step whose small candidate looks bad", () => {
    // 40 % failures, but only 30 attempts: neither the fast guard nor the step can judge that.
    const verdict = judge(rollout(), arm(), arm({ requests: 30, failures: 12 }), STEP_OVER);
    expect(verdict.action).toBe("hold");
  });

  it("never aborts or advances while the candidate has too few samples", () => {
    fc.assert(
      fc.property(
        fc.nat(199),
        fc.nat(FAST_GUARD_MIN_REQUESTS - 1),
        fc.nat(),
        fc.nat(60),
        fc.integer({ min: 0, max: DEFAULT_STEPS.length - 1 }),
        fc.nat(500),
        (requests, attempts, failureSeed, sessions, step, baselineFailures) => {
          const candidate = arm({ requests, attempts, failures: failureSeed % (attempts + 1), sessions });
          const baseline = arm({ requests: 1_000, failures: Math.min(baselineFailures, 1_000) });
          const verdict = judge(rollout({ step }), baseline, candidate, STEP_OVER + 5 * MINUTE);
          expect(verdict.action).toBe("hold");
        },
      ),
    );
  });

  it("only ever holds below the floors, unless the fast guard fires", () => {
    fc.assert(
      fc.property(
        fc.record({ requests: fc.nat(400), failures: fc.nat(400), sessions: fc.nat(40) }),
        fc.record({ requests: fc.nat(400), failures: fc.nat(400), sessions: fc.nat(40) }),
        (b, c) => {
          fc.pre(b.requests < 200 || b.sessions < 20 || c.requests < 200 || c.sessions < 20);
          const baseline = arm({ ...b, failures: Math.min(b.failures, b.requests) });
          const candidate = arm({ ...c, failures: Math.min(c.failures, c.requests) });
          const verdict = judge(rollout(), baseline, candidate, STEP_OVER);
          if (verdict.action === "abort") expect(verdict.reason).toContain("(fast guard)");
          else expect(verdict.action).toBe("hold");
        },
      ),
    );
  });
});

describe("judge: missing data never promotes", () => {
  const last = rollout({ step: DEFAULT_STEPS.length - 1 });

  it("holds the last step with no candidate data at all", () => {
    expect(judge(last, EMPTY(), EMPTY(), STEP_OVER).action).toBe("hold");
    expect(judge(last, arm(), EMPTY(), STEP_OVER).action).toBe("hold");
    expect(judge(rollout(), EMPTY(), EMPTY(), STEP_OVER).action).toBe("hold");
    expect(judge(rollout({ promote: "manual", step: 3 }), EMPTY(), EMPTY(), STEP_OVER).action).toBe("hold");
  });

  it("holds when the candidate's requests measured nothing (every attempt a capacity 429)", () => {
    const overloaded = arm({ attempts: 0 });
    overloaded.capacity = 400;
    const verdict = judge(last, EMPTY(), overloaded, STEP_OVER);
    expect(verdict.action).toBe("hold");
    expect(reasonOf(verdict)).toBe("candidate has no attempts that count toward the error rate");
    expect(judge(rollout(), arm(), overloaded, STEP_OVER).action).toBe("hold");
    // Nor does an unmeasured baseline let a candidate through.
    expect(judge(rollout(), arm({ attempts: 0 }), arm({ failures: 100 }), STEP_OVER).action).not.toBe(
      "advance",
    );
  });

  it("never promotes a candidate short of its floors", () => {
    fc.assert(
      fc.property(fc.nat(1_000), fc.nat(100), fc.boolean(), (requests, sessions, measured) => {
        fc.pre(requests < 200 || sessions < 20 || !measured);
        const candidate = arm({ requests, sessions, attempts: measured ? requests : 0 });
        const verdict = judge(last, EMPTY(), candidate, STEP_OVER);
        expect(verdict.action).toBe("hold");
      }),
    );
  });
});

describe("judge: stepping", () => {
  it("advances through every step on healthy stats and promotes at the last", () => {
    let current = rollout();
    const seen: string[] = [];
    for (;;) {
      // At weight 100 the baseline only has what is left: nothing here.
      const baseline = current.weight >= 100 ? EMPTY() : arm();
      const verdict = judge(current, baseline, arm(), current.stepStartedMs + 15 * MINUTE);
      seen.push(verdict.action);
      if (verdict.action !== "advance") break;
      expect(verdict.toStep).toBe(current.step + 1);
      current = rollout({
        step: verdict.toStep,
        stepStartedMs: current.stepStartedMs + 15 * MINUTE,
      });
    }
    expect(seen).toEqual(["advance", "advance", "advance", "promote"]);
    expect(current.weight).toBe(100);
  });

  it("says which step passed and on what figures", () => {
    const verdict = judge(rollout({ step: 1 }), arm({ failures: 2 }), arm({ failures: 1 }), STEP_OVER);
    expect(verdict).toMatchObject({ action: "advance", toStep: 2 });
    expect(reasonOf(verdict)).toBe(
      "step 2 of 4 (25 %) passed: candidate error rate 0.3 % over 400 attempts, baseline 0.5 % over 400",
    );
    if (verdict.action === "advance") {
      expect(verdict.figures.candidate).toMatchObject({
        requests: 400,
        attempts: 400,
        failures: 1,
        sessions: 40,
      });
      expect(verdict.figures.baseline.errorRate).toBeCloseTo(0.005);
    }
  });

  it("promotes at the last step of custom steps that stop short of 100", () => {
    const verdict = judge(rollout({ steps: [10, 50], step: 1 }), arm(), arm(), STEP_OVER);
    expect(verdict.action).toBe("promote");
  });

  it("awaits a manual promotion once, then waits quietly", () => {
    const manual = rollout({ step: 3, promote: "manual" });
    const verdict = judge(manual, EMPTY(), arm(), STEP_OVER);
    expect(verdict.action).toBe("await_promotion");
    expect(reasonOf(verdict)).toContain("awaiting promotion");
    const awaiting = { ...manual, awaitingPromotion: true };
    expect(judge(awaiting, EMPTY(), arm(), STEP_OVER)).toEqual({ action: "none" });
    expect(judge(awaiting, EMPTY(), arm(), STEP_OVER + 600 * MINUTE)).toEqual({ action: "none" });
  });

  it("at weight 100 judges the candidate on its own floors only", () => {
    const full = rollout({ step: 3 });
    // No baseline floors: the baseline has what is left, here a little.
    expect(judge(full, arm({ requests: 3, sessions: 1 }), arm(), STEP_OVER).action).toBe("promote");
    // No comparisons either: a slower, dearer candidate passed them at every lower step.
    expect(judge(full, arm({ requests: 3 }), arm({ ttfb: 10, costPerRequest: 0.01 }), STEP_OVER).action).toBe(
      "promote",
    );
    const hold = judge(full, EMPTY(), arm({ requests: 150 }), STEP_OVER);
    expect(hold.action).toBe("hold");
    expect(reasonOf(hold)).toBe("candidate has 150 of 200 requests");
    // The fast guard still runs when the keyless requests left on the baseline are enough to compare with.
    expect(judge(full, arm({ requests: 100 }), arm({ failures: 100 }), MID_STEP).action).toBe("abort");
  });
});

describe("judge: the arms are told apart by name", () => {
  it("aborts a worse candidate and passes a better one on the same two sets of stats", () => {
    const good = arm({ requests: 2_000, failures: 10, ttfb: 0.5, costPerRequest: 0.001 });
    const bad = arm({ requests: 2_000, failures: 90, ttfb: 0.5, costPerRequest: 0.001 });
    expect(judge(rollout(), good, bad, STEP_OVER).action).toBe("abort");
    expect(judge(rollout(), bad, good, STEP_OVER).action).toBe("advance");
  });

  it("does the same for time to first byte and cost", () => {
    const fast = arm({ ttfb: 0.5 });
    const slow = arm({ ttfb: 2.5 });
    expect(judge(rollout(), fast, slow, STEP_OVER).action).toBe("abort");
    expect(judge(rollout(), slow, fast, STEP_OVER).action).toBe("advance");
    const cheap = arm({ costPerRequest: 0.001 });
    const dear = arm({ costPerRequest: 0.002 });
    expect(judge(rollout(), cheap, dear, STEP_OVER).action).toBe("abort");
    expect(judge(rollout(), dear, cheap, STEP_OVER).action).toBe("advance");
  });

  it("never aborts on the comparative guards when the candidate is no worse than the baseline", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 5_000 }),
        fc.nat(1_000),
        fc.constantFrom(...ARM_TTFB_BUCKETS_SECONDS),
        fc.double({ min: 0.0001, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: DEFAULT_STEPS.length - 2 }),
        (requests, failureSeed, ttfb, cost, step) => {
          const shape = { requests, failures: failureSeed % (requests + 1), ttfb, costPerRequest: cost };
          const verdict = judge(rollout({ step }), arm(shape), arm(shape), STEP_OVER);
          expect(verdict.action).toBe("advance");
        },
      ),
    );
  });
});

describe("judge: the error-rate guard", () => {
  it("lets a 0.5 pp increase through when 1 pp is tolerated", () => {
    const verdict = judge(
      rollout(),
      arm({ requests: 2_000, failures: 20 }),
      arm({ requests: 2_000, failures: 30 }),
      STEP_OVER,
    );
    expect(verdict.action).toBe("advance");
  });

  it("aborts a 5 pp increase over 2,000 attempts", () => {
    const baseline = arm({ requests: 2_000, failures: 20 });
    const candidate = arm({ requests: 2_000, failures: 120 });
    const z = errorIncreaseZ(baseline, candidate, 0.01);
    expect(z).not.toBeNull();
    expect(z ?? 0).toBeGreaterThan(Z_ALPHA);
    expect(judge(rollout(), baseline, candidate, STEP_OVER).action).toBe("abort");
  });

  it("names the rates, the tolerance and z", () => {
    const verdict = judge(
      rollout(),
      arm({ requests: 2_000, failures: 20 }),
      arm({ requests: 2_000, failures: 110 }),
      STEP_OVER,
    );
    expect(reasonOf(verdict)).toBe(
      "candidate error rate 5.5 % significantly above baseline 1.0 % + 1.0 pp (z = 6.2)",
    );
    if (verdict.action === "abort") expect(verdict.figures.errorZ).toBeCloseTo(6.24, 1);
  });

  it("wants evidence, not a bad streak: 3 % against 1 % over 200 attempts passes", () => {
    const verdict = judge(
      rollout(),
      arm({ requests: 200, failures: 2 }),
      arm({ requests: 200, failures: 6 }),
      STEP_OVER,
    );
    expect(verdict.action).toBe("advance");
  });

  it("counts timeouts and broken streams as failures, capacity 429s not", () => {
    const baseline = arm({ requests: 2_000, failures: 20 });
    const candidate = arm({ requests: 2_000 });
    candidate.failures = { server: 0, timeout: 60, broken: 50 };
    expect(judge(rollout(), baseline, candidate, STEP_OVER).action).toBe("abort");
    const busy = arm({ requests: 2_000, failures: 20 });
    busy.capacity = 1_500;
    expect(judge(rollout(), baseline, busy, STEP_OVER).action).toBe("advance");
  });
});

describe("errorIncreaseZ", () => {
  it("follows the pooled two-proportion formula", () => {
    const z = errorIncreaseZ(
      arm({ requests: 1_000, failures: 10 }),
      arm({ requests: 500, failures: 25 }),
      0.01,
    );
    const pooled = 35 / 1_500;
    const expected = (0.05 - 0.01 - 0.01) / Math.sqrt(pooled * (1 - pooled) * (1 / 1_000 + 1 / 500));
    expect(z).toBeCloseTo(expected, 10);
  });

  it("is null, no evidence, without attempts or without spread", () => {
    expect(errorIncreaseZ(EMPTY(), arm(), 0.01)).toBeNull();
    expect(errorIncreaseZ(arm(), EMPTY(), 0.01)).toBeNull();
    expect(errorIncreaseZ(arm(), arm(), 0.01)).toBeNull();
    expect(errorIncreaseZ(arm({ failures: 400 }), arm({ failures: 400 }), 0.01)).toBeNull();
  });

  it("once positive, rises with the candidate's failures and falls with the baseline's", () => {
    // Below zero the pooled standard error can move against the difference; the guard only reads z > Z_ALPHA.
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 5_000 }),
        fc.integer({ min: 50, max: 5_000 }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom(0, 0.01, 0.05),
        (nb, nc, fbSeed, fcSeed, delta) => {
          const fb = fbSeed % nb;
          const fc1 = fcSeed % nc;
          const z = errorIncreaseZ(
            arm({ requests: nb, failures: fb }),
            arm({ requests: nc, failures: fc1 }),
            delta,
          );
          fc.pre(z !== null && z > 0);
          const more = errorIncreaseZ(
            arm({ requests: nb, failures: fb }),
            arm({ requests: nc, failures: fc1 + 1 }),
            delta,
          );
          const worseBaseline = errorIncreaseZ(
            arm({ requests: nb, failures: fb + 1 }),
            arm({ requests: nc, failures: fc1 }),
            delta,
          );
          if (more !== null) expect(more).toBeGreaterThan(z ?? 0);
          if (worseBaseline !== null) expect(worseBaseline).toBeLessThan(z ?? 0);
        },
      ),
    );
  });
});

describe("judge: the latency guard", () => {
  it("aborts when the candidate's TTFT p95 is above the ratio", () => {
    const verdict = judge(rollout(), arm({ ttfb: 1 }), arm({ ttfb: 2.5 }), STEP_OVER);
    expect(verdict.action).toBe("abort");
    expect(reasonOf(verdict)).toBe("candidate TTFT p95 3000 ms is above 1.5 × baseline 1000 ms");
  });

  it("passes at or under the ratio", () => {
    expect(judge(rollout(), arm({ ttfb: 1 }), arm({ ttfb: 1 }), STEP_OVER).action).toBe("advance");
    const loose = rollout({ guards: { ...DEFAULT_GUARDS, maxTtftP95Ratio: 2.5 } });
    expect(judge(loose, arm({ ttfb: 1 }), arm({ ttfb: 2 }), STEP_OVER).action).toBe("advance");
  });

  it("ignores a gap under MIN_TTFT_GAP_MS whatever the ratio", () => {
    // 25 ms against 100 ms is four times slower, and 75 ms nobody feels.
    expect(judge(rollout(), arm({ ttfb: 0.025 }), arm({ ttfb: 0.1 }), STEP_OVER).action).toBe("advance");
    expect(judge(rollout(), arm({ ttfb: 0.025 }), arm({ ttfb: 0.15 }), STEP_OVER).action).toBe("abort");
  });

  it("aborts a candidate whose p95 is past the last bucket", () => {
    const verdict = judge(rollout(), arm({ ttfb: 1 }), arm({ ttfb: 500 }), STEP_OVER);
    expect(verdict.action).toBe("abort");
    expect(reasonOf(verdict)).toBe("candidate TTFT p95 over 120000 ms is above 1.5 × baseline 1000 ms");
  });

  it("skips the comparison when an arm has no first byte to measure", () => {
    const noCommits = arm({ requests: 400 });
    noCommits.ttfb.fill(0);
    expect(judge(rollout(), noCommits, arm({ ttfb: 60 }), STEP_OVER).action).toBe("advance");
  });
});

describe("judge: the cost guard", () => {
  it("aborts when the candidate costs more per request than the ratio allows", () => {
    const verdict = judge(
      rollout(),
      arm({ costPerRequest: 0.001 }),
      arm({ costPerRequest: 0.0014 }),
      STEP_OVER,
    );
    expect(verdict.action).toBe("abort");
    expect(reasonOf(verdict)).toBe("candidate cost per request $0.00140 is above 1.3 × baseline $0.00100");
  });

  it("passes within the ratio", () => {
    expect(
      judge(rollout(), arm({ costPerRequest: 0.001 }), arm({ costPerRequest: 0.0012 }), STEP_OVER).action,
    ).toBe("advance");
  });

  it("skips the comparison without costs on both sides or against a free baseline", () => {
    expect(
      judge(rollout(), arm({ costPerRequest: null }), arm({ costPerRequest: 0.01 }), STEP_OVER).action,
    ).toBe("advance");
    expect(
      judge(rollout(), arm({ costPerRequest: 0.001 }), arm({ costPerRequest: null }), STEP_OVER).action,
    ).toBe("advance");
    expect(
      judge(rollout(), arm({ costPerRequest: 0 }), arm({ costPerRequest: 0.01 }), STEP_OVER).action,
    ).toBe("advance");
  });
});

describe("figuresOf", () => {
  it("reads an arm as an operator would", () => {
    const stats = arm({
      requests: 400,
      attempts: 420,
      failures: 21,
      sessions: 30,
      ttfb: 0.5,
      costPerRequest: 0.002,
    });
    stats.capacity = 7;
    expect(figuresOf(stats)).toEqual({
      requests: 400,
      attempts: 420,
      failures: 21,
      errorRate: 0.05,
      capacity: 7,
      ttfbP95Ms: 500,
      costPerRequestUsd: 0.002,
      sessions: 30,
    });
  });

  it("says null where there is nothing to measure", () => {
    expect(figuresOf(EMPTY())).toEqual({
      requests: 0,
      attempts: 0,
      failures: 0,
      errorRate: null,
      capacity: 0,
      ttfbP95Ms: null,
      costPerRequestUsd: null,
      sessions: 0,
    });
  });

  it("gives Infinity for a p95 past the last bucket", () => {
    expect(figuresOf(arm({ ttfb: 1_000 })).ttfbP95Ms).toBe(Number.POSITIVE_INFINITY);
  });
});
