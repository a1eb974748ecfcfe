import { describe, expect, it } from "vitest";
import type { BreakerState } from "./breaker.ts";
import { type CandidatePlanInput, modeModels, planCandidates, probeCandidates } from "./candidates.ts";
import type { ModelStats } from "./model-health.ts";
import type { Candidate } from "./ranking.ts";

function candidate(name: string, confidentialCompute = false): Candidate {
  return {
    name,
    chuteId: null,
    score: 1,
    activeInstances: 1,
    utilization: 0,
    utilizationCurrent: 0,
    rateLimitRatio: 0,
    rateLimitRatio5m: 0,
    confidentialCompute,
  };
}

const OPEN: BreakerState = { consecutiveFailures: 3, openedAtMs: 1000 };
const DEGRADED_AT_1000: ModelStats = {
  recentTtfbMs: [9000, 9000, 9000],
  baselineTtfbMs: 500,
  samples: 20,
  failureRate: 0,
  lastSampleMs: 1000,
  degraded: true,
};
const RANKED = [candidate("a"), candidate("b"), candidate("c-TEE", true)];
const BASE: CandidatePlanInput = {
  models: ["a", "b", "c-TEE"],
  unknownFit: new Set(),
  breakers: {},
  breakerOptions: { failureThreshold: 3, cooldownMs: 30_000 },
  health: {},
  slowOptions: { factor: 4, minMs: 2000, recheckAfterMs: 30_000 },
  probing: new Set(),
  stickyModel: null,
  maxAttempts: 5,
  nowMs: 2000,
};

describe("modeModels", () => {
  it("uses the ranking in alias mode and only confidential models for the TEE alias", () => {
    expect(modeModels({ kind: "alias", confidentialOnly: false }, RANKED)).toEqual(["a", "b", "c-TEE"]);
    expect(modeModels({ kind: "alias", confidentialOnly: true }, RANKED)).toEqual(["c-TEE"]);
  });

  it("uses the client's order in list mode and the one model in direct mode", () => {
    expect(modeModels({ kind: "list", models: ["z", "a"] }, RANKED)).toEqual(["z", "a"]);
    expect(modeModels({ kind: "direct", model: "z" }, RANKED)).toEqual(["z"]);
  });
});

describe("planCandidates", () => {
  it("keeps the fitting models' order when nothing is open, degraded or unknown", () => {
    expect(planCandidates(BASE)).toEqual(["a", "b", "c-TEE"]);
  });

  it("tries models the feed says too little about after the healthy known fits, before degraded ones", () => {
    const unknownFit = new Set(["a"]);
    expect(planCandidates({ ...BASE, unknownFit })).toEqual(["b", "c-TEE", "a"]);
    expect(planCandidates({ ...BASE, unknownFit, health: { b: DEGRADED_AT_1000 } })).toEqual([
      "c-TEE",
      "a",
      "b",
    ]);
  });

  it("keeps a sticky model first even when the feed says too little about it", () => {
    expect(planCandidates({ ...BASE, unknownFit: new Set(["b"]), stickyModel: "b" })).toEqual([
      "b",
      "a",
      "c-TEE",
    ]);
  });

  it("puts the sticky model first when it is a candidate, keeping the others' order", () => {
    expect(planCandidates({ ...BASE, stickyModel: "b" })).toEqual(["b", "a", "c-TEE"]);
    expect(planCandidates({ ...BASE, stickyModel: "elsewhere" })).toEqual(["a", "b", "c-TEE"]);
  });

  it("moves open breakers behind every closed model, sticky or not", () => {
    expect(planCandidates({ ...BASE, breakers: { a: OPEN } })).toEqual(["b", "c-TEE", "a"]);
    expect(planCandidates({ ...BASE, breakers: { b: OPEN }, stickyModel: "b" })).toEqual(["a", "c-TEE", "b"]);
  });

  it("treats a half-open model as closed unless this isolate is already probing it", () => {
    const later = { ...BASE, breakers: { a: OPEN }, nowMs: 31_000 };
    expect(planCandidates(later)).toEqual(["a", "b", "c-TEE"]);
    expect(planCandidates({ ...later, probing: new Set(["a"]) })).toEqual(["b", "c-TEE", "a"]);
  });

  it("moves a degraded model behind the healthy ones and ahead of open breakers, sticky or not", () => {
    const health = { a: DEGRADED_AT_1000 };
    expect(planCandidates({ ...BASE, health })).toEqual(["b", "c-TEE", "a"]);
    expect(planCandidates({ ...BASE, health, stickyModel: "a" })).toEqual(["b", "c-TEE", "a"]);
    expect(planCandidates({ ...BASE, health, breakers: { b: OPEN } })).toEqual(["c-TEE", "a", "b"]);
  });

  it("gives a degraded model its place back for one probe per isolate once the recheck time has passed", () => {
    const later = { ...BASE, health: { a: DEGRADED_AT_1000 }, nowMs: 31_000 };
    expect(planCandidates(later)).toEqual(["a", "b", "c-TEE"]);
    expect(probeCandidates(later, ["a", "b"])).toEqual(["a"]);
    expect(planCandidates({ ...later, probing: new Set(["a"]) })).toEqual(["b", "c-TEE", "a"]);
  });

  it("keeps the ranking's order when slow-model detection is off, degraded or not", () => {
    const off = { ...BASE, health: { a: DEGRADED_AT_1000 } };
    expect(planCandidates({ ...off, slowOptions: { ...off.slowOptions, factor: 0 } })).toEqual([
      "a",
      "b",
      "c-TEE",
    ]);
    expect(planCandidates({ ...off, slowOptions: { ...off.slowOptions, minMs: 0 } })).toEqual([
      "a",
      "b",
      "c-TEE",
    ]);
  });

  it("stops at MAX_ATTEMPTS", () => {
    expect(planCandidates({ ...BASE, maxAttempts: 2 })).toEqual(["a", "b"]);
  });
});
