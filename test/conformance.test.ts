// Ranks the real Chutes captures of 2026-02-18 (copied byte for byte into fixtures/, so this never skips): the
// parser must accept the live shapes whole, and the ranking must follow docs/contract.md §4 on real data.
import { describe, expect, it } from "vitest";
import models from "../fixtures/chutes-models-2026-02-18.json";
import utilization from "../fixtures/chutes-utilization-2026-02-18.json";
import { parseModelsFeed, parseUtilizationFeed } from "../src/core/feeds.ts";
import { PRIVATE_CHUTE_NAME, scoreRow } from "../src/core/ranking.ts";
import { rankSnapshot } from "../src/core/snapshot.ts";

describe("real Chutes captures (2026-02-18)", () => {
  const utilizationFeed = parseUtilizationFeed(utilization);
  const modelsFeed = parseModelsFeed(models);

  it("parses every utilization row and every model without skipping any", () => {
    expect(utilizationFeed).toMatchObject({ ok: true, skipped: 0 });
    expect(modelsFeed).toMatchObject({ ok: true, skipped: 0 });
    if (!utilizationFeed.ok || !modelsFeed.ok) return;
    expect(utilizationFeed.rows).toHaveLength(538);
    expect(utilizationFeed.rows.filter((row) => row.name === PRIVATE_CHUTE_NAME)).toHaveLength(442);
    expect(modelsFeed.rows).toHaveLength(61);
    expect(modelsFeed.rows.filter((model) => model.confidential_compute === true)).toHaveLength(21);
  });

  it("ranks only public, active, allowlisted models, in non-increasing score order", () => {
    if (!utilizationFeed.ok || !modelsFeed.ok) throw new Error("captures did not parse");
    const ranked = rankSnapshot(utilizationFeed.rows, modelsFeed.rows);
    const allowlist = new Set(modelsFeed.rows.map((model) => model.id));
    expect(ranked.length).toBeGreaterThan(0);
    for (const candidate of ranked) {
      expect(allowlist.has(candidate.name)).toBe(true);
      expect(candidate.activeInstances).toBeGreaterThan(0);
    }
    for (let i = 1; i < ranked.length; i++) {
      expect(ranked[i - 1]?.score ?? 0).toBeGreaterThanOrEqual(ranked[i]?.score ?? 0);
    }
    const best = utilizationFeed.rows
      .filter((row) => allowlist.has(row.name) && row.active_instance_count > 0)
      .reduce((a, b) => (scoreRow(a).score >= scoreRow(b).score ? a : b));
    expect(ranked[0]?.score).toBeCloseTo(scoreRow(best).score, 10);
  });

  it("marks exactly the confidential-compute models as TEE candidates", () => {
    if (!utilizationFeed.ok || !modelsFeed.ok) throw new Error("captures did not parse");
    const ranked = rankSnapshot(utilizationFeed.rows, modelsFeed.rows);
    const confidential = new Set(
      modelsFeed.rows.filter((m) => m.confidential_compute === true).map((m) => m.id),
    );
    for (const candidate of ranked)
      expect(candidate.confidentialCompute).toBe(confidential.has(candidate.name));
    expect(ranked.some((candidate) => candidate.confidentialCompute)).toBe(true);
  });
});
