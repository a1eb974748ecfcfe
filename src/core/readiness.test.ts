import { describe, expect, it } from "vitest";
import type { Candidate } from "./ranking.ts";
import { evaluateReadiness } from "./readiness.ts";
import { EMPTY_FEED_STATUS, type RoutingView } from "./snapshot.ts";

const NOW_MS = 1_000_000;
const LIMITS = { maxSnapshotAgeMs: 20_000, maxAllowlistAgeMs: 600_000 };
const CANDIDATE: Candidate = {
  name: "m",
  chuteId: "c",
  score: 1,
  activeInstances: 1,
  utilization: 0,
  utilizationCurrent: 0,
  rateLimitRatio: 0,
  rateLimitRatio5m: 0,
  confidentialCompute: false,
};
const READY_VIEW: RoutingView = {
  candidates: [CANDIDATE],
  allowlist: ["m"],
  utilization: { ...EMPTY_FEED_STATUS, lastSuccessMs: NOW_MS - 1000 },
  models: { ...EMPTY_FEED_STATUS, lastSuccessMs: NOW_MS - 1000 },
  breakers: {},
  health: {},
  pricing: {},
  capabilities: {},
  limits: {},
};

describe("evaluateReadiness", () => {
  it("is ready when both feeds are fresh and there is a candidate", () => {
    expect(evaluateReadiness(READY_VIEW, LIMITS, NOW_MS)).toEqual({ ready: true });
  });

  it.each<[string, Partial<RoutingView>]>([
    [
      "missing_allowlist",
      { models: EMPTY_FEED_STATUS, utilization: EMPTY_FEED_STATUS, candidates: [], allowlist: [] },
    ],
    ["allowlist_empty", { allowlist: [], candidates: [], utilization: EMPTY_FEED_STATUS }],
    [
      "stale_allowlist",
      { models: { ...EMPTY_FEED_STATUS, lastSuccessMs: NOW_MS - 600_001 }, utilization: EMPTY_FEED_STATUS },
    ],
    ["missing_snapshot", { utilization: EMPTY_FEED_STATUS, candidates: [] }],
    [
      "no_candidates",
      { candidates: [], utilization: { ...EMPTY_FEED_STATUS, lastSuccessMs: NOW_MS - 30_000 } },
    ],
    ["stale_snapshot", { utilization: { ...EMPTY_FEED_STATUS, lastSuccessMs: NOW_MS - 20_001 } }],
  ])("answers %s first when that is the first failing check", (code, overrides) => {
    expect(evaluateReadiness({ ...READY_VIEW, ...overrides }, LIMITS, NOW_MS)).toMatchObject({
      ready: false,
      code,
    });
  });

  it("accepts ages exactly at the limit", () => {
    const view = {
      ...READY_VIEW,
      utilization: { ...EMPTY_FEED_STATUS, lastSuccessMs: NOW_MS - 20_000 },
      models: { ...EMPTY_FEED_STATUS, lastSuccessMs: NOW_MS - 600_000 },
    };
    expect(evaluateReadiness(view, LIMITS, NOW_MS)).toEqual({ ready: true });
  });
});
