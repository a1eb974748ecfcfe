import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BreakerOptions, type BreakerState, breakerPhase } from "./breaker.ts";
import { type ModelStats, RECENT_WINDOW, recordAttemptResult } from "./model-health.ts";
import {
  applyDigestToBreakers,
  applyDigestToStats,
  digestReports,
  emptyDigest,
  mergeDigest,
  type OutcomeDigest,
  TTFB_SAMPLES_KEPT,
} from "./outcome-digest.ts";
import {
  applyOutcomesToBreakers,
  type CounterDelta,
  type ReportFacts,
  tallyCounters,
} from "./outcome-tally.ts";

const NOW = 1_000_000;
const RUNS = 200;
const STATS_OPTIONS = { factor: 0, minMs: 0, recheckAfterMs: 0 };
const MODELS = ["a", "b", "c"] as const;

type Kind = "success" | "stream_failure" | "client_cancel" | "none";

function report(
  failed: readonly string[],
  committed: { model: string; kind: Kind; ms: number; eventStream: boolean; usd: number } | null,
): ReportFacts {
  const attempts: Array<ReportFacts["attempts"][number]> = failed.map((model) => ({
    model,
    outcome: "retryable",
    reason: "upstream_503",
    ms: 10,
  }));
  if (!committed || committed.kind === "none") {
    return { status: 503, selected: null, attempts };
  }
  attempts.push({ model: committed.model, outcome: "committed", reason: null, ms: committed.ms });
  const end =
    committed.kind === "success"
      ? "complete"
      : committed.kind === "stream_failure"
        ? "upstream_error"
        : "client_cancel";
  return {
    status: 200,
    selected: committed.model,
    attempts,
    stream: { end, ttfbMs: committed.ms, durationMs: committed.ms * 3, eventStream: committed.eventStream },
    usage: { promptTokens: 10, completionTokens: 5, usd: committed.usd, estimated: false },
  };
}

function arbReport(models: readonly string[]): fc.Arbitrary<ReportFacts> {
  const model = fc.constantFrom(...models);
  return fc
    .record({
      failed: fc.array(model, { maxLength: 3 }),
      committed: fc.option(
        fc.record({
          model,
          kind: fc.constantFrom<Kind>("success", "success", "stream_failure", "client_cancel", "none"),
          ms: fc.integer({ min: 0, max: 200_000 }),
          eventStream: fc.boolean(),
          usd: fc.integer({ min: 0, max: 1000 }).map((cents) => cents / 100),
        }),
      ),
    })
    .map(({ failed, committed }) => report(failed, committed));
}

const arbModels = fc.constantFrom<readonly string[]>(MODELS.slice(0, 2), MODELS);

/** Reports, cut into consecutive batches (possibly empty ones). */
const arbBatches = arbModels.chain((models) =>
  fc
    .tuple(
      fc.array(arbReport(models), { maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 6 }),
    )
    .map(([reports, cuts]) => {
      const points = [...new Set(cuts.map((c) => Math.min(c, reports.length)))].sort((x, y) => x - y);
      const batches: ReportFacts[][] = [];
      let start = 0;
      for (const point of [...points, reports.length]) {
        batches.push(reports.slice(start, point));
        start = point;
      }
      return { models, reports, batches };
    }),
);

const arbBreaker: fc.Arbitrary<BreakerState | undefined> = fc.option(
  fc.record({
    consecutiveFailures: fc.integer({ min: 0, max: 7 }),
    openedAtMs: fc.option(fc.integer({ min: NOW - 100_000, max: NOW }), { nil: null }),
  }),
  { nil: undefined },
);

const arbBreakers = fc.tuple(arbBreaker, arbBreaker, arbBreaker).map((states) => {
  const breakers: Record<string, BreakerState> = {};
  states.forEach((state, i) => {
    if (state) breakers[MODELS[i] as string] = state;
  });
  return breakers;
});

function digestBatches(batches: readonly ReportFacts[][], nowMs: (i: number) => number = () => NOW) {
  return batches.reduce(
    (merged, batch, i) => mergeDigest(merged, digestReports(batch, nowMs(i))),
    emptyDigest(),
  );
}

function counterMap(counters: readonly CounterDelta[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const c of counters) {
    const labels = Object.fromEntries(Object.entries(c.labels).sort(([x], [y]) => x.localeCompare(y)));
    const id = `${c.metric}${JSON.stringify(labels)}`;
    map.set(id, (map.get(id) ?? 0) + c.delta);
  }
  return map;
}

function expectSameCounters(actual: readonly CounterDelta[], expected: readonly CounterDelta[]): void {
  const a = counterMap(actual);
  const e = counterMap(expected);
  expect([...a.keys()].sort()).toEqual([...e.keys()].sort());
  for (const [id, delta] of e) expect(a.get(id)).toBeCloseTo(delta, 6);
}

function comparable(digest: OutcomeDigest) {
  return { reports: digest.reports, models: digest.models };
}

describe("digest then apply matches the reports one by one", () => {
  for (const failureThreshold of [1, 3, 5]) {
    it(`leaves every breaker where applyOutcomesToBreakers does (threshold ${failureThreshold})`, () => {
      const options: BreakerOptions = { failureThreshold, cooldownMs: 30_000 };
      fc.assert(
        fc.property(arbBatches, arbBreakers, ({ models, reports, batches }, start) => {
          const expected = applyOutcomesToBreakers(start, reports, options, NOW);
          const actual = applyDigestToBreakers(start, digestBatches(batches), options, NOW);
          for (const model of models) {
            expect(actual[model] ?? start[model]).toEqual(expected[model] ?? start[model]);
          }
          for (const model of Object.keys(actual)) expect(models).toContain(model);
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe("mergeDigest", () => {
  it("is associative", () => {
    const arbThree = arbModels.chain((models) =>
      fc.tuple(
        fc.array(arbReport(models), { maxLength: 15 }),
        fc.array(arbReport(models), { maxLength: 15 }),
        fc.array(arbReport(models), { maxLength: 15 }),
      ),
    );
    fc.assert(
      fc.property(arbThree, ([ra, rb, rc]) => {
        const a = digestReports(ra, NOW);
        const b = digestReports(rb, NOW + 1);
        const c = digestReports(rc, NOW + 2);
        const left = mergeDigest(mergeDigest(structuredClone(a), structuredClone(b)), structuredClone(c));
        const right = mergeDigest(structuredClone(a), mergeDigest(structuredClone(b), structuredClone(c)));
        expect(comparable(left)).toEqual(comparable(right));
        expectSameCounters(left.counters, right.counters);
      }),
      { numRuns: RUNS },
    );
  });

  it("sums the counters of all the reports, as tallyCounters does", () => {
    fc.assert(
      fc.property(arbBatches, ({ reports, batches }) => {
        expectSameCounters(digestBatches(batches).counters, tallyCounters(reports));
      }),
      { numRuns: RUNS },
    );
  });

  it("does not change the later digest", () => {
    fc.assert(
      fc.property(arbBatches, ({ batches }) => {
        const digests = batches.map((batch) => digestReports(batch, NOW));
        const copies = structuredClone(digests);
        digests.reduce((merged, d) => mergeDigest(merged, d), emptyDigest());
        expect(digests.slice(1)).toEqual(copies.slice(1));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("applyDigestToStats", () => {
  const arbStart = fc.double({ min: 0, max: 1, noNaN: true }).map(
    (failureRate): ModelStats => ({
      recentTtfbMs: [],
      baselineTtfbMs: 0,
      samples: 0,
      failureRate,
      lastSampleMs: 0,
      degraded: false,
    }),
  );

  function attemptsReports(failures: number, successes: number): ReportFacts[] {
    return [
      ...Array.from({ length: failures }, () => report(["a"], null)),
      ...Array.from({ length: successes }, () =>
        report([], { model: "a", kind: "success", ms: 100, eventStream: false, usd: 0 }),
      ),
    ];
  }

  function oneByOne(start: ModelStats, failedInOrder: boolean[]): number {
    return failedInOrder.reduce((s, failed) => recordAttemptResult(s, failed), start).failureRate;
  }

  it("puts the failure rate between failures-first and failures-last", () => {
    fc.assert(
      fc.property(
        arbStart,
        fc
          .integer({ min: 1, max: 60 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }))),
        (start, [n, f]) => {
          const digest = digestReports(attemptsReports(f, n - f), NOW);
          const rate = applyDigestToStats({ a: start }, digest, STATS_OPTIONS).a?.failureRate as number;
          const first = oneByOne(start, [...Array(f).fill(true), ...Array(n - f).fill(false)]);
          const last = oneByOne(start, [...Array(n - f).fill(false), ...Array(f).fill(true)]);
          expect(rate).toBeGreaterThanOrEqual(Math.min(first, last) - 1e-12);
          expect(rate).toBeLessThanOrEqual(Math.max(first, last) + 1e-12);
          if (n === 1) expect(rate).toBeCloseTo(first, 12);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("equals recordAttemptResult for a single attempt", () => {
    fc.assert(
      fc.property(arbStart, fc.boolean(), (start, failed) => {
        const digest = digestReports(attemptsReports(failed ? 1 : 0, failed ? 0 : 1), NOW);
        const rate = applyDigestToStats({ a: start }, digest, STATS_OPTIONS).a?.failureRate;
        expect(rate).toBeCloseTo(recordAttemptResult(start, failed).failureRate, 12);
      }),
      { numRuns: RUNS },
    );
  });

  it("keeps the latest TTFB samples in order, across merges", () => {
    fc.assert(
      fc.property(arbBatches, ({ models, batches }) => {
        const at = (i: number) => NOW + i * 1000;
        const merged = digestBatches(batches, at);
        const seen = new Map<string, Array<{ ms: number; atMs: number }>>();
        batches.forEach((batch, i) => {
          for (const r of batch) {
            const committed = r.attempts.find((attempt) => attempt.outcome === "committed");
            if (committed?.ms === undefined || !r.stream?.eventStream) continue;
            seen.set(committed.model, [
              ...(seen.get(committed.model) ?? []),
              { ms: committed.ms, atMs: at(i) },
            ]);
          }
        });
        const stats = applyDigestToStats({}, merged, STATS_OPTIONS);
        for (const model of models) {
          const expected = (seen.get(model) ?? []).slice(-TTFB_SAMPLES_KEPT);
          expect(merged.models[model]?.ttfb ?? []).toEqual(expected);
          if (expected.length > 0) {
            // The stats' recent median reads only the last RECENT_WINDOW of them.
            expect(stats[model]?.recentTtfbMs).toEqual(expected.slice(-RECENT_WINDOW).map((s) => s.ms));
            expect(stats[model]?.lastSampleMs).toBe(expected[expected.length - 1]?.atMs);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("a model failing everywhere", () => {
  const options: BreakerOptions = { failureThreshold: 3, cooldownMs: 30_000 };
  const failure = report(["a"], { model: "b", kind: "success", ms: 100, eventStream: true, usd: 0 });

  it("opens its breaker when three locations each saw one failure", () => {
    const merged = [0, 1, 2]
      .map(() => digestReports([failure], NOW))
      .reduce((m, d) => mergeDigest(m, d), emptyDigest());
    const changed = applyDigestToBreakers(
      { a: { consecutiveFailures: 0, openedAtMs: null } },
      merged,
      options,
      NOW,
    );
    expect(changed.a).toEqual({ consecutiveFailures: 3, openedAtMs: NOW });
    expect(breakerPhase(changed.a, options, NOW)).toBe("open");
    expect(changed.b).toEqual({ consecutiveFailures: 0, openedAtMs: null });
  });

  it("stays closed when the last digest ends with a success", () => {
    const success = report([], { model: "a", kind: "success", ms: 100, eventStream: true, usd: 0 });
    const digests = [
      digestReports([failure], NOW),
      digestReports([failure], NOW),
      digestReports([failure, success], NOW),
    ];
    const merged = digests.reduce((m, d) => mergeDigest(m, d), emptyDigest());
    const changed = applyDigestToBreakers({}, merged, options, NOW);
    expect(changed.a).toEqual({ consecutiveFailures: 0, openedAtMs: null });
    expect(breakerPhase(changed.a, options, NOW)).toBe("closed");
  });
});
