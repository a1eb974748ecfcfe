import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_SESSION_TAGS } from "./arm-stats.ts";
import { DEFAULT_GUARDS, DEFAULT_STEPS, type Rollout } from "./rollout.ts";
import { checkRollout, type RolloutCheck, type RolloutInput } from "./rollout-config.ts";

const KNOWN = new Set(["old-model", "new-model", "fast", "new-model,other-model"]);

function context(running: Array<Pick<Rollout, "id" | "match" | "state">> = [], exceptId?: string) {
  return { isKnownTarget: (name: string) => KNOWN.has(name), running, exceptId };
}

const VALID: RolloutInput = { name: "try new-model", match: "old-model", candidate: "new-model" };

/** The refusal for `input`, as field and message. */
function refusal(input: Partial<RolloutInput> | Record<string, unknown>, ctx = context()) {
  const check = checkRollout({ ...VALID, ...input } as RolloutInput, ctx);
  expect(check.ok).toBe(false);
  return check.ok ? { field: "", message: "" } : { field: check.field, message: check.message };
}

function accepted(check: RolloutCheck) {
  if (!check.ok) throw new Error(`refused: ${check.field}: ${check.message}`);
  return check.config;
}

describe("checkRollout: a valid rollout", () => {
  it("fills every default", () => {
    expect(accepted(checkRollout(VALID, context()))).toEqual({
      name: "try new-model",
      match: "old-model",
      candidate: "new-model",
      steps: [5, 25, 50, 100],
      stepMinutes: 15,
      minRequests: 200,
      minSessions: 20,
      guards: { maxErrorRateIncrease: 0.01, maxTtftP95Ratio: 1.5, maxCostRatio: 1.3 },
      promote: "auto",
      cooldownMinutes: 60,
    });
  });

  it("takes every field it is given", () => {
    const config = accepted(
      checkRollout(
        {
          name: "cheaper list",
          match: "old-model",
          candidate: "new-model,other-model",
          steps: [1, 10, 100],
          step_minutes: 30,
          min_requests: 50,
          min_sessions: 0,
          max_error_rate_increase: 0,
          max_ttft_p95_ratio: 1,
          max_cost_ratio: 2,
          promote: "manual",
          cooldown_minutes: 0,
        },
        context(),
      ),
    );
    expect(config).toEqual({
      name: "cheaper list",
      match: "old-model",
      candidate: "new-model,other-model",
      steps: [1, 10, 100],
      stepMinutes: 30,
      minRequests: 50,
      minSessions: 0,
      guards: { maxErrorRateIncrease: 0, maxTtftP95Ratio: 1, maxCostRatio: 2 },
      promote: "manual",
      cooldownMinutes: 0,
    });
  });

  it("passes the whole candidate to the caller to judge, a list included", () => {
    const asked: string[] = [];
    const check = checkRollout(
      { ...VALID, candidate: "a,b" },
      {
        isKnownTarget: (name) => {
          asked.push(name);
          return true;
        },
        running: [],
      },
    );
    expect(check.ok).toBe(true);
    expect(asked).toEqual(["a,b"]);
  });

  it("trims the names it is given", () => {
    const config = accepted(
      checkRollout({ name: " n ", match: " old-model ", candidate: " fast " }, context()),
    );
    expect(config).toMatchObject({ name: "n", match: "old-model", candidate: "fast" });
  });

  it("hands out its own copy of the default steps and guards", () => {
    const config = accepted(checkRollout(VALID, context()));
    config.steps.push(7);
    config.guards.maxCostRatio = 9;
    expect(DEFAULT_STEPS).toEqual([5, 25, 50, 100]);
    expect(DEFAULT_GUARDS.maxCostRatio).toBe(1.3);
  });

  it("treats null like an absent field", () => {
    const config = accepted(checkRollout({ ...VALID, steps: null, step_minutes: null } as never, context()));
    expect(config.steps).toEqual(DEFAULT_STEPS);
    expect(config.stepMinutes).toBe(15);
  });

  it("accepts any rising list of whole percentages up to 100", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 10 }),
        (values) => {
          const steps = [...values].sort((a, b) => a - b);
          expect(accepted(checkRollout({ ...VALID, steps }, context())).steps).toEqual(steps);
        },
      ),
    );
  });
});

describe("checkRollout: refusals", () => {
  it.each([
    ["name", { name: "" }],
    ["name", { name: "   " }],
    ["match", { match: "" }],
    ["candidate", { candidate: "" }],
    ["candidate", { candidate: 7 }],
  ] as const)("refuses an empty %s", (field, input) => {
    expect(refusal(input)).toEqual({ field, message: `${field} must not be empty` });
  });

  it("refuses a candidate that is the model it replaces", () => {
    expect(refusal({ candidate: "old-model" })).toEqual({
      field: "candidate",
      message: 'candidate must differ from match (both are "old-model")',
    });
  });

  it("refuses a candidate the router cannot send to", () => {
    const { field, message } = refusal({ candidate: "nowhere" });
    expect(field).toBe("candidate");
    expect(message).toContain('"nowhere"');
  });

  it.each([
    [[], "non-empty"],
    ["5,25", "non-empty"],
    [[5, 25.5], "whole percentages, not 25.5"],
    [[0, 50], "from 1 to 100"],
    [[-5, 50], "from 1 to 100"],
    [[50, 101], "from 1 to 100"],
    [[5, 50, 50], "rise strictly: 50 follows 50"],
    [[50, 25], "rise strictly: 25 follows 50"],
    [[5, Number.NaN], "finite"],
    [[5, Number.POSITIVE_INFINITY], "finite"],
    [[5, "25"], "finite"],
  ])("refuses steps %j", (steps, says) => {
    const { field, message } = refusal({ steps } as never);
    expect(field).toBe("steps");
    expect(message).toContain(says);
  });

  it.each([
    ["step_minutes", 0.01],
    ["step_minutes", 0],
    ["min_requests", 0],
    ["min_requests", 10.5],
    ["min_sessions", -1],
    ["min_sessions", 2.5],
    ["min_sessions", MAX_SESSION_TAGS + 1],
    ["max_error_rate_increase", -0.01],
    ["max_error_rate_increase", 1.5],
    ["max_ttft_p95_ratio", 0.9],
    ["max_cost_ratio", 0.5],
    ["cooldown_minutes", -1],
  ])("refuses %s = %s", (field, value) => {
    const { field: at, message } = refusal({ [field]: value });
    expect(at).toBe(field);
    expect(message).toContain(field);
    expect(message).toContain(String(value));
  });

  it("refuses NaN and Infinity in every number field", () => {
    for (const field of [
      "step_minutes",
      "min_requests",
      "min_sessions",
      "max_error_rate_increase",
      "max_ttft_p95_ratio",
      "max_cost_ratio",
      "cooldown_minutes",
    ]) {
      for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, "15"]) {
        expect(refusal({ [field]: value })).toEqual({ field, message: `${field} must be a finite number` });
      }
    }
  });

  it("refuses an unknown promote", () => {
    expect(refusal({ promote: "later" } as never)).toEqual({
      field: "promote",
      message: 'promote must be "auto" or "manual"',
    });
  });

  it("refuses a second live rollout on the same match", () => {
    for (const state of ["running", "paused"] as const) {
      const { field, message } = refusal({}, context([{ id: "r7", match: "old-model", state }]));
      expect(field).toBe("match");
      expect(message).toContain("r7");
      expect(message).toContain(state);
    }
  });

  it("lets a finished rollout, another match or the rollout being rewritten through", () => {
    const others = [
      { id: "r1", match: "old-model", state: "aborted" },
      { id: "r2", match: "old-model", state: "promoted" },
      { id: "r3", match: "fast", state: "running" },
    ] as const;
    expect(checkRollout(VALID, context([...others])).ok).toBe(true);
    const self = [...others, { id: "r4", match: "old-model", state: "running" } as const];
    expect(checkRollout(VALID, context(self, "r4")).ok).toBe(true);
    expect(checkRollout(VALID, context(self, "r3")).ok).toBe(false);
  });
});
