import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { UtilizationRow } from "./feeds.ts";
import { type AllowlistView, rankCandidates, scoreRow } from "./ranking.ts";

const ROW: UtilizationRow = {
  name: "acme/model",
  chute_id: "c-1",
  utilization_current: 0.5,
  utilization_5m: 0.5,
  utilization_15m: 0.5,
  utilization_1h: 0.5,
  rate_limit_ratio_5m: 0,
  rate_limit_ratio_15m: 0,
  rate_limit_ratio_1h: 0,
  active_instance_count: 2,
  scalable: false,
  scale_allowance: 0,
};

function row(overrides: Partial<UtilizationRow>): UtilizationRow {
  return { ...ROW, ...overrides };
}

function allowlistOf(names: string[], confidential: string[] = []): [AllowlistView, number] {
  const ids = new Set(names);
  const tee = new Set(confidential);
  return [{ has: (name) => ids.has(name), isConfidential: (name) => tee.has(name) }, ids.size];
}

const EMPTY_ALLOWLIST = allowlistOf([]);

describe("scoreRow", () => {
  it("scores the contract's worked example at 0.8", () => {
    const { score } = scoreRow(
      row({
        active_instance_count: 4,
        utilization_5m: 0.5,
        utilization_15m: 0.25,
        utilization_1h: null,
        rate_limit_ratio_5m: 0.25,
        rate_limit_ratio_15m: 0.5,
        rate_limit_ratio_1h: 1.0,
        scalable: true,
        scale_allowance: 8,
      }),
    );
    expect(score).toBeCloseTo(0.8, 10);
  });

  it.each([
    ["u5 falls back to utilization_current", { utilization_5m: null, utilization_current: 0.4 }, 0.44],
    [
      "u5 falls back to 1 when nothing is known",
      { utilization_5m: undefined, utilization_current: undefined },
      0.8,
    ],
    ["u15 falls back to u5", { utilization_5m: 0.2, utilization_15m: null }, 0.23],
    ["u1h falls back to u15", { utilization_15m: 0.2, utilization_1h: null }, 0.38],
  ] as const)("weights utilization 0.6/0.3/0.1 when %s", (_name, overrides, expected) => {
    expect(scoreRow(row(overrides)).utilization).toBeCloseTo(expected, 10);
  });

  it("treats missing rate-limit ratios as r5=0, r15=r5, r1h=r15", () => {
    expect(
      scoreRow(row({ rate_limit_ratio_5m: null, rate_limit_ratio_15m: null, rate_limit_ratio_1h: null }))
        .rateLimitRatio,
    ).toBe(0);
    expect(
      scoreRow(row({ rate_limit_ratio_5m: 0.1, rate_limit_ratio_15m: null, rate_limit_ratio_1h: null }))
        .rateLimitRatio,
    ).toBeCloseTo(0.1, 10);
    expect(
      scoreRow(row({ rate_limit_ratio_5m: 0, rate_limit_ratio_15m: 0.8, rate_limit_ratio_1h: null }))
        .rateLimitRatio,
    ).toBeCloseTo(0.4, 10);
  });

  it("takes the largest of r5, half of r15 and a quarter of r1h", () => {
    const { rateLimitRatio } = scoreRow(
      row({ rate_limit_ratio_5m: 0.1, rate_limit_ratio_15m: 0.1, rate_limit_ratio_1h: 0.8 }),
    );
    expect(rateLimitRatio).toBeCloseTo(0.2, 10);
  });

  it("never lets utilization above 1 add score", () => {
    expect(scoreRow(row({ utilization_5m: 1.5, utilization_15m: 1.5, utilization_1h: 1.5 })).score).toBe(0);
  });

  it("gives the scale bonus only to scalable chutes, capped at 8 * 0.05", () => {
    const busy = { utilization_5m: 1, utilization_15m: 1, utilization_1h: 1 };
    expect(scoreRow(row({ ...busy, scalable: true, scale_allowance: 20 })).score).toBeCloseTo(0.4, 10);
    expect(scoreRow(row({ ...busy, scalable: true, scale_allowance: 3 })).score).toBeCloseTo(0.15, 10);
    expect(scoreRow(row({ ...busy, scalable: true, scale_allowance: null })).score).toBeCloseTo(0, 10);
    expect(scoreRow(row({ ...busy, scalable: false, scale_allowance: 8 })).score).toBeCloseTo(0, 10);
  });
});

describe("rankCandidates", () => {
  it("orders by score, best first", () => {
    const [allowlist, size] = allowlistOf(["a", "b", "c"]);
    const ranked = rankCandidates(
      [
        row({ name: "a", active_instance_count: 1 }),
        row({ name: "b", active_instance_count: 5 }),
        row({ name: "c", active_instance_count: 3 }),
      ],
      allowlist,
      size,
    );
    expect(ranked.map((c) => c.name)).toEqual(["b", "c", "a"]);
  });

  it("breaks score ties by more active instances", () => {
    const [allowlist, size] = allowlistOf(["few", "many"]);
    // 2 * (1 - 0.5) = 1 and 4 * (1 - 0.75) = 1
    const ranked = rankCandidates(
      [
        row({ name: "few", active_instance_count: 2 }),
        row({
          name: "many",
          active_instance_count: 4,
          utilization_5m: 0.75,
          utilization_15m: 0.75,
          utilization_1h: 0.75,
        }),
      ],
      allowlist,
      size,
    );
    expect(ranked.map((c) => c.name)).toEqual(["many", "few"]);
  });

  it("breaks remaining ties by lower current utilization, then lower 5m rate-limit ratio, then name", () => {
    const [allowlist, size] = allowlistOf(["b-busy", "a-calm", "c-limited", "d-name", "c-name"]);
    const tied = (name: string, overrides: Partial<UtilizationRow>) =>
      row({
        name,
        utilization_5m: 0.5,
        utilization_15m: 0.5,
        utilization_1h: 0.5,
        utilization_current: 0.5,
        ...overrides,
      });
    const ranked = rankCandidates(
      [
        tied("b-busy", { utilization_current: 0.9 }),
        tied("a-calm", { utilization_current: 0.1 }),
        tied("d-name", {}),
        tied("c-limited", { rate_limit_ratio_5m: 0, rate_limit_ratio_15m: 0, rate_limit_ratio_1h: 0 }),
        tied("c-name", {}),
      ],
      allowlist,
      size,
    );
    expect(ranked.map((c) => c.name)).toEqual(["a-calm", "c-limited", "c-name", "d-name", "b-busy"]);
  });

  it("breaks a tie on current utilization by the lower 5m rate-limit ratio", () => {
    const [allowlist, size] = allowlistOf(["limited", "free"]);
    // limited: rl = max(0.1, 0.5 * 0, 0) = 0.1 → score 2*0.5 - 2*0.1*2 = 0.6; free at util 0.7 → 2*0.3 = 0.6
    const ranked = rankCandidates(
      [
        row({
          name: "limited",
          rate_limit_ratio_5m: 0.1,
          rate_limit_ratio_15m: 0,
          rate_limit_ratio_1h: 0,
          utilization_current: 0.5,
        }),
        row({
          name: "free",
          utilization_5m: 0.7,
          utilization_15m: 0.7,
          utilization_1h: 0.7,
          utilization_current: 0.5,
        }),
      ],
      allowlist,
      size,
    );
    expect(ranked[0]?.score).toBeCloseTo(ranked[1]?.score ?? Number.NaN, 10);
    expect(ranked.map((c) => c.name)).toEqual(["free", "limited"]);
  });

  it("never offers private chutes, chutes without active instances, or names outside the allowlist", () => {
    const [allowlist, size] = allowlistOf(["ok", "idle", "[private chute]"]);
    const ranked = rankCandidates(
      [
        row({ name: "ok" }),
        row({ name: "idle", active_instance_count: 0 }),
        row({ name: "[private chute]" }),
        row({ name: "stranger" }),
      ],
      allowlist,
      size,
    );
    expect(ranked.map((c) => c.name)).toEqual(["ok"]);
  });

  it("admits only -TEE names when the allowlist is empty, and marks them confidential", () => {
    const [allowlist, size] = EMPTY_ALLOWLIST;
    const ranked = rankCandidates(
      [row({ name: "plain" }), row({ name: "secure-TEE" }), row({ name: "secure-tee" })],
      allowlist,
      size,
    );
    expect(ranked.map((c) => c.name)).toEqual(["secure-TEE"]);
    expect(ranked[0]?.confidentialCompute).toBe(true);
  });

  it("takes confidential compute from the allowlist metadata when there is one", () => {
    const [allowlist, size] = allowlistOf(["named-TEE", "flagged"], ["flagged"]);
    const ranked = rankCandidates([row({ name: "named-TEE" }), row({ name: "flagged" })], allowlist, size);
    expect(Object.fromEntries(ranked.map((c) => [c.name, c.confidentialCompute]))).toEqual({
      "named-TEE": false,
      flagged: true,
    });
  });

  it("keeps one entry per model name, the best-ranked row", () => {
    const [allowlist, size] = allowlistOf(["dup"]);
    const ranked = rankCandidates(
      [
        row({ name: "dup", chute_id: "small", active_instance_count: 1 }),
        row({ name: "dup", chute_id: "big", active_instance_count: 9 }),
      ],
      allowlist,
      size,
    );
    expect(ranked.map((c) => c.chuteId)).toEqual(["big"]);
  });
});

describe("ranking as an order", () => {
  const arbitraryRow = fc.record({
    name: fc.constantFrom("a", "b", "c", "d", "e-TEE"),
    chute_id: fc.constantFrom("c1", "c2", "c3"),
    utilization_current: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    utilization_5m: fc.option(fc.constantFrom(0, 0.25, 0.5, 0.75, 1), { nil: null }),
    utilization_15m: fc.option(fc.constantFrom(0, 0.5, 1), { nil: null }),
    utilization_1h: fc.option(fc.constantFrom(0, 0.5, 1), { nil: null }),
    rate_limit_ratio_5m: fc.option(fc.constantFrom(0, 0.1, 0.5), { nil: null }),
    rate_limit_ratio_15m: fc.option(fc.constantFrom(0, 0.2), { nil: null }),
    rate_limit_ratio_1h: fc.option(fc.constantFrom(0, 0.4), { nil: null }),
    active_instance_count: fc.integer({ min: 0, max: 5 }),
    scalable: fc.option(fc.boolean(), { nil: null }),
    scale_allowance: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
  });
  const [allowlist, size] = allowlistOf(["a", "b", "c", "d", "e-TEE"]);

  it("does not depend on the order the rows arrive in", () => {
    fc.assert(
      fc.property(
        fc
          .array(arbitraryRow, { maxLength: 12 })
          .chain((rows) =>
            fc.tuple(fc.constant(rows), fc.shuffledSubarray(rows, { minLength: rows.length })),
          ),
        ([rows, shuffled]) => {
          expect(rankCandidates(shuffled, allowlist, size)).toEqual(rankCandidates(rows, allowlist, size));
        },
      ),
    );
  });

  it("is sorted by score, never lists a model twice, and never lists an ineligible one", () => {
    fc.assert(
      fc.property(fc.array(arbitraryRow, { maxLength: 12 }), (rows) => {
        const ranked = rankCandidates(rows, allowlist, size);
        for (let i = 1; i < ranked.length; i++) {
          expect(ranked[i - 1]?.score ?? 0).toBeGreaterThanOrEqual(ranked[i]?.score ?? 0);
        }
        expect(new Set(ranked.map((c) => c.name)).size).toBe(ranked.length);
        for (const candidate of ranked) expect(candidate.activeInstances).toBeGreaterThan(0);
      }),
    );
  });
});
