import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ARM_TTFB_BUCKETS_SECONDS,
  type ArmStats,
  addArmStats,
  armStatsOf,
  emptyArmStats,
  failuresOf,
  histogramPercentile,
  MAX_SESSION_TAGS,
} from "./arm-stats.ts";
import type { OutcomeReport } from "./outcome.ts";
import { TTFB_BUCKETS_SECONDS } from "./outcome-tally.ts";
import { armFor, BUCKETS, type RolloutRoute, routeFor, sessionBucket, sessionTag } from "./rollout.ts";

const KEYS = 5_000;
// The share checks are statistical: each run misses its 4σ band about once in 16,000, so they run from a
// fixed seed to keep the suite deterministic (any seed will do; the hash, not the seed, is under test).
const STATISTICAL = { numRuns: 60, seed: 1818 };

/** 5,000 distinct sticky keys: a random prefix and a counter, keys that differ in a few characters. */
const keysOf = (prefix: string) => Array.from({ length: KEYS }, (_, i) => `${prefix}${i}`);

const running = (id: string, weight: number): Pick<RolloutRoute, "id" | "weight" | "state"> => ({
  id,
  weight,
  state: "running",
});

/** Four standard deviations of a binomial count over KEYS trials at probability p. */
const fourSigma = (p: number) => 4 * Math.sqrt(KEYS * p * (1 - p));

describe("armFor: the split an operator asked for", () => {
  it("puts close to the weight's share of sessions in the candidate arm", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.integer({ min: 0, max: 100 }), (id, prefix, weight) => {
        const inCandidate = keysOf(prefix).filter((key) => armFor(running(id, weight), key) === "candidate");
        const p = weight / 100;
        expect(Math.abs(inCandidate.length - KEYS * p)).toBeLessThanOrEqual(fourSigma(p));
      }),
      STATISTICAL,
    );
  });

  it("does so for unrelated keys too", () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.array(fc.uuid(), { minLength: KEYS, maxLength: KEYS }),
        fc.integer({ min: 1, max: 99 }),
        (id, keys, weight) => {
          const inCandidate = keys.filter((key) => armFor(running(id, weight), key) === "candidate").length;
          const p = weight / 100;
          expect(Math.abs(inCandidate - KEYS * p)).toBeLessThanOrEqual(fourSigma(p));
        },
      ),
      { ...STATISTICAL, numRuns: 10 },
    );
  });

  it("never moves a session back to the baseline when the weight rises", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (id, prefix, a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          for (const key of keysOf(prefix)) {
            if (armFor(running(id, low), key) === "candidate") {
              expect(armFor(running(id, high), key)).toBe("candidate");
            }
          }
        },
      ),
      { numRuns: STATISTICAL.numRuns },
    );
  });

  it("gives the same session the same arm every time, paused or running", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.integer({ min: 0, max: 100 }), (id, key, weight) => {
        const first = armFor(running(id, weight), key);
        expect(armFor(running(id, weight), key)).toBe(first);
        expect(armFor({ id, weight, state: "paused" }, key)).toBe(first);
        expect(sessionBucket(id, key)).toBe(sessionBucket(id, key));
      }),
    );
  });

  it("splits sessions independently for different rollouts", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.string(),
        fc.integer({ min: 5, max: 95 }),
        fc.integer({ min: 5, max: 95 }),
        (first, second, prefix, w1, w2) => {
          fc.pre(first !== second);
          const both = keysOf(prefix).filter(
            (key) =>
              armFor(running(first, w1), key) === "candidate" &&
              armFor(running(second, w2), key) === "candidate",
          ).length;
          const p = (w1 / 100) * (w2 / 100);
          expect(Math.abs(both - KEYS * p)).toBeLessThanOrEqual(fourSigma(p));
        },
      ),
      STATISTICAL,
    );
  });

  it("splits sessions independently for rollout ids one character apart", () => {
    const keys = keysOf("session-");
    for (const [first, second] of [
      ["r1", "r2"],
      ["rollout-a", "rollout-b"],
      ["x", "y"],
    ] as const) {
      const both = keys.filter(
        (key) =>
          armFor(running(first, 50), key) === "candidate" && armFor(running(second, 50), key) === "candidate",
      ).length;
      expect(Math.abs(both - KEYS * 0.25)).toBeLessThanOrEqual(fourSigma(0.25));
    }
  });

  it("sends everyone to the candidate once promoted, nobody once aborted", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.option(fc.string()),
        fc.integer({ min: 0, max: 100 }),
        (id, key, weight) => {
          expect(armFor({ id, weight, state: "promoted" }, key)).toBe("candidate");
          expect(armFor({ id, weight, state: "aborted" }, key)).toBe("baseline");
        },
      ),
    );
  });

  it("keeps requests without a sticky key on the baseline, even at weight 100", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 0, max: 100 }), (id, weight) => {
        expect(armFor(running(id, weight), null)).toBe("baseline");
        expect(armFor({ id, weight, state: "paused" }, null)).toBe("baseline");
      }),
    );
  });

  it("sends nobody at weight 0 and everybody with a key at weight 100", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (id, key) => {
        expect(armFor(running(id, 0), key)).toBe("baseline");
        expect(armFor(running(id, 100), key)).toBe("candidate");
      }),
    );
  });

  it("buckets every session within range", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (id, key) => {
        const bucket = sessionBucket(id, key);
        expect(Number.isInteger(bucket)).toBe(true);
        expect(bucket).toBeGreaterThanOrEqual(0);
        expect(bucket).toBeLessThan(BUCKETS);
      }),
    );
  });
});

describe("routeFor", () => {
  const route = (
    id: string,
    match: string,
    candidate: string,
    state: RolloutRoute["state"],
  ): RolloutRoute => ({
    id,
    match,
    candidate,
    weight: 25,
    state,
  });

  it("finds the rollout splitting a model now, running or paused, never an aborted one", () => {
    const routes = [
      route("old", "m", "x", "aborted"),
      route("new", "m", "y", "running"),
      route("other", "n", "z", "paused"),
    ];
    expect(routeFor(routes, "m")).toEqual({ base: "m", live: routes[1] });
    expect(routeFor(routes, "n")).toEqual({ base: "n", live: routes[2] });
    expect(routeFor([route("old", "m", "x", "aborted")], "m")).toEqual({ base: "m", live: null });
    expect(routeFor(routes, "z")).toEqual({ base: "z", live: null });
    expect(routeFor(undefined, "m")).toEqual({ base: "m", live: null });
  });

  it("sends the baseline to the candidate of a rollout promoted on the model", () => {
    const promoted = route("done", "m", "y", "promoted");
    const next = route("next", "m", "z", "running");
    expect(routeFor([promoted], "m")).toEqual({ base: "y", live: null });
    expect(routeFor([promoted, next], "m")).toEqual({ base: "y", live: next });
  });
});

describe("sessionTag", () => {
  it("is a short, stable tag that never shows the key", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (key) => {
        const tag = sessionTag(key);
        expect(tag).toMatch(/^[0-9a-f]{8}$/);
        expect(sessionTag(key)).toBe(tag);
        if (key.length >= 8) expect(tag).not.toContain(key);
      }),
    );
  });

  it("tells sessions apart", () => {
    const tags = new Set(keysOf("k").map(sessionTag));
    expect(tags.size).toBeGreaterThan(KEYS - 5);
  });
});

const committed = (model: string, ms: number) =>
  ({ model, outcome: "committed", reason: null, status: 200, ms }) as const;

function report(attempts: OutcomeReport["attempts"], extra: Partial<OutcomeReport> = {}): OutcomeReport {
  return { status: 200, selected: null, attempts, stream: null, usage: null, ...extra };
}

describe("armStatsOf", () => {
  it("counts a failover the client never saw as a failure of the request's arm", () => {
    const stats = armStatsOf(
      report([
        { model: "cand", outcome: "retryable", reason: "upstream_503", status: 503, ms: 40 },
        committed("other", 300),
      ]),
      "s1",
    );
    expect(stats.requests).toBe(1);
    expect(stats.attempts).toBe(2);
    expect(stats.failures).toEqual({ server: 1, timeout: 0, broken: 0 });
    expect(failuresOf(stats)).toBe(1);
    expect(stats.sessions).toEqual(["s1"]);
  });

  it("counts an overload 429 as capacity, not as a failure or an attempt", () => {
    const stats = armStatsOf(
      report([
        { model: "cand", outcome: "retryable", reason: "upstream_overloaded", status: 429, ms: 5 },
        committed("other", 300),
      ]),
      "s1",
    );
    expect(stats.capacity).toBe(1);
    expect(stats.attempts).toBe(1);
    expect(failuresOf(stats)).toBe(0);
  });

  it("counts timeouts apart from server errors", () => {
    const stats = armStatsOf(
      report([
        { model: "a", outcome: "retryable", reason: "upstream_header_timeout", status: null, ms: 30_000 },
        {
          model: "b",
          outcome: "retryable",
          reason: "upstream_first_body_byte_timeout",
          status: 200,
          ms: 30_000,
        },
        { model: "c", outcome: "retryable", reason: "upstream_connect_error", status: null, ms: 3 },
        { model: "d", outcome: "retryable", reason: "upstream_first_body_byte_error", status: 200, ms: 3 },
      ]),
      null,
    );
    expect(stats.attempts).toBe(4);
    expect(stats.failures).toEqual({ server: 2, timeout: 2, broken: 0 });
    expect(stats.sessions).toEqual([]);
  });

  it("counts a committed stream that broke or stalled as broken", () => {
    for (const end of ["upstream_error", "idle_timeout"] as const) {
      const stats = armStatsOf(
        report([committed("a", 200)], { stream: { end, ttfbMs: 210, durationMs: 4_000, eventStream: true } }),
        "s",
      );
      expect(stats.attempts).toBe(1);
      expect(stats.failures).toEqual({ server: 0, timeout: 0, broken: 1 });
    }
    const continued = armStatsOf(
      report([{ ...committed("a", 200), streamEnd: "idle_timeout" }, committed("b", 400)], {
        stream: { end: "complete", ttfbMs: 210, durationMs: 4_000, eventStream: true },
      }),
      "s",
    );
    expect(continued.attempts).toBe(2);
    expect(continued.failures.broken).toBe(1);
  });

  it("leaves out complete or cancelled streams, client errors and attempts that were not the model's", () => {
    for (const end of ["complete", "client_cancel"] as const) {
      const stats = armStatsOf(
        report([committed("a", 200)], { stream: { end, ttfbMs: 210, durationMs: 900, eventStream: true } }),
        "s",
      );
      expect(failuresOf(stats)).toBe(0);
      expect(stats.attempts).toBe(1);
    }
    const passedOn = armStatsOf(
      report([{ model: "a", outcome: "passthrough", reason: null, status: 400, ms: 20 }], { status: 400 }),
      "s",
    );
    expect(passedOn.attempts).toBe(0);
    expect(failuresOf(passedOn)).toBe(0);
    const notTheModels = armStatsOf(
      report([
        { model: "a", outcome: "refused", reason: null, status: 400, ms: 20 },
        { model: "b", outcome: "cancelled", reason: null, status: null, ms: 20 },
        { model: "c", outcome: "hedge_lost", reason: null, status: null, ms: 20, hedge: true },
      ]),
      "s",
    );
    expect(notTheModels.attempts).toBe(0);
    expect(failuresOf(notTheModels)).toBe(0);
  });

  it("counts a 5xx passed through as a server failure", () => {
    const stats = armStatsOf(
      report([{ model: "a", outcome: "passthrough", reason: null, status: 501, ms: 20 }], { status: 501 }),
      "s",
    );
    expect(stats.attempts).toBe(1);
    expect(stats.failures.server).toBe(1);
  });

  it("buckets time to first byte and duration, and carries the cost", () => {
    const stats = armStatsOf(
      report([committed("a", 700)], {
        stream: { end: "complete", ttfbMs: 720, durationMs: 7_000, eventStream: true },
        usage: { promptTokens: 10, completionTokens: 5, usd: 0.002, estimated: false },
      }),
      "s",
    );
    expect(stats.ttfb.reduce((a, b) => a + b, 0)).toBe(1);
    expect(stats.ttfb[ARM_TTFB_BUCKETS_SECONDS.indexOf(0.75)]).toBe(1);
    expect(stats.duration.reduce((a, b) => a + b, 0)).toBe(1);
    expect(stats.costUsd).toBe(0.002);
    expect(stats.costed).toBe(1);
  });
});

describe("addArmStats", () => {
  const sample = (tags: string[], scale: number): ArmStats => {
    const stats = emptyArmStats();
    stats.requests = 3 * scale;
    stats.attempts = 4 * scale;
    stats.failures = { server: scale, timeout: 2 * scale, broken: 3 * scale };
    stats.capacity = scale;
    stats.ttfb[0] = scale;
    stats.ttfb[stats.ttfb.length - 1] = 2 * scale;
    stats.duration[2] = scale;
    stats.costUsd = 0.5 * scale;
    stats.costed = scale;
    stats.sessions = tags;
    return stats;
  };

  it("adds every count, bucket by bucket, and unites the sessions", () => {
    const sum = addArmStats(addArmStats(emptyArmStats(), sample(["a", "b"], 1)), sample(["b", "c"], 2));
    expect(sum.requests).toBe(9);
    expect(sum.attempts).toBe(12);
    expect(sum.failures).toEqual({ server: 3, timeout: 6, broken: 9 });
    expect(failuresOf(sum)).toBe(18);
    expect(sum.capacity).toBe(3);
    expect(sum.ttfb[0]).toBe(3);
    expect(sum.ttfb[sum.ttfb.length - 1]).toBe(6);
    expect(sum.duration[2]).toBe(3);
    expect(sum.costUsd).toBeCloseTo(1.5);
    expect(sum.costed).toBe(3);
    expect([...sum.sessions].sort()).toEqual(["a", "b", "c"]);
  });

  it("adds up to the same whatever the order", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.nat(1_000), fc.nat(1_000), fc.array(fc.string({ maxLength: 3 }), { maxLength: 5 })),
        ),
        (parts) => {
          const rows = parts.map(([requests, failures, tags]) => {
            const stats = emptyArmStats();
            stats.requests = requests;
            stats.attempts = requests + failures;
            stats.failures.server = failures;
            stats.sessions = tags;
            return stats;
          });
          const forward = rows.reduce((into, row) => addArmStats(into, row), emptyArmStats());
          const backward = [...rows].reverse().reduce((into, row) => addArmStats(into, row), emptyArmStats());
          expect(backward.requests).toBe(forward.requests);
          expect(backward.attempts).toBe(forward.attempts);
          expect(failuresOf(backward)).toBe(failuresOf(forward));
          expect(new Set(backward.sessions)).toEqual(new Set(forward.sessions));
          expect(forward.requests).toBe(parts.reduce((sum, [requests]) => sum + requests, 0));
        },
      ),
    );
  });

  it("keeps at most MAX_SESSION_TAGS sessions", () => {
    const many = emptyArmStats();
    many.sessions = Array.from({ length: MAX_SESSION_TAGS + 50 }, (_, i) => `t${i}`);
    const sum = addArmStats(emptyArmStats(), many);
    expect(sum.sessions).toHaveLength(MAX_SESSION_TAGS);
    const more = emptyArmStats();
    more.sessions = ["late"];
    expect(addArmStats(sum, more).sessions).toHaveLength(MAX_SESSION_TAGS);
  });
});

describe("histogramPercentile", () => {
  const empty = () => new Array(TTFB_BUCKETS_SECONDS.length + 1).fill(0);

  it("is null for an empty histogram", () => {
    expect(histogramPercentile(empty(), TTFB_BUCKETS_SECONDS, 0.95)).toBeNull();
  });

  it("gives the upper bound of the bucket the percentile falls in", () => {
    const counts = empty();
    counts[0] = 94; // ≤ 0.1 s
    counts[3] = 6; // ≤ 1 s
    expect(histogramPercentile(counts, TTFB_BUCKETS_SECONDS, 0.5)).toBe(0.1);
    expect(histogramPercentile(counts, TTFB_BUCKETS_SECONDS, 0.94)).toBe(0.1);
    expect(histogramPercentile(counts, TTFB_BUCKETS_SECONDS, 0.95)).toBe(1);
  });

  it("gives Infinity when the percentile is in the overflow bucket", () => {
    const counts = empty();
    counts[0] = 90;
    counts[TTFB_BUCKETS_SECONDS.length] = 10;
    expect(histogramPercentile(counts, TTFB_BUCKETS_SECONDS, 0.95)).toBe(Number.POSITIVE_INFINITY);
  });

  it("never falls below a lower percentile", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(50), {
          minLength: TTFB_BUCKETS_SECONDS.length + 1,
          maxLength: TTFB_BUCKETS_SECONDS.length + 1,
        }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (counts, a, b) => {
          fc.pre(counts.some((n) => n > 0));
          const low = histogramPercentile(counts, TTFB_BUCKETS_SECONDS, Math.min(a, b));
          const high = histogramPercentile(counts, TTFB_BUCKETS_SECONDS, Math.max(a, b));
          expect(high).toBeGreaterThanOrEqual(low ?? 0);
        },
      ),
    );
  });
});
