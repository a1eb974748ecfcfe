import fc from "fast-check";
import { describe, expect, it } from "vitest";
import MODELS_HEALTHY from "../../fixtures/models-healthy.json";
import UTILIZATION_HEALTHY from "../../fixtures/utilization-healthy.json";
import UTILIZATION_WRONG_TYPES from "../../fixtures/utilization-row-with-wrong-types.json";
import { parseModelsFeed, parseUtilizationFeed } from "./feeds.ts";

describe("parseUtilizationFeed", () => {
  it("keeps every well-formed row, private chutes included, and ignores unknown fields", () => {
    const result = parseUtilizationFeed(UTILIZATION_HEALTHY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rows.map((r) => r.name)).toContain("[private chute]");
    expect(result.rows).toHaveLength(UTILIZATION_HEALTHY.length);
    expect(result.skipped).toBe(0);
    expect(result.rows[0]).not.toHaveProperty("total_requests_5m");
  });

  it("skips rows with wrong types one by one and counts them", () => {
    const result = parseUtilizationFeed(UTILIZATION_WRONG_TYPES);
    expect(result).toMatchObject({ ok: true, skipped: 2 });
    if (result.ok) expect(result.rows.map((r) => r.name)).toEqual(["acme/alpha-70b"]);
  });

  it("rejects a body that is not an array", () => {
    expect(parseUtilizationFeed({ detail: "Internal server error" })).toMatchObject({ ok: false });
    expect(parseUtilizationFeed("<html>")).toMatchObject({ ok: false });
    expect(parseUtilizationFeed(null)).toMatchObject({ ok: false });
  });

  it("accepts an empty array as a successful empty feed", () => {
    expect(parseUtilizationFeed([])).toEqual({ ok: true, rows: [], skipped: 0 });
  });
});

describe("parseModelsFeed", () => {
  it("keeps every model with all of its upstream metadata", () => {
    const result = parseModelsFeed(MODELS_HEALTHY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rows.map((m) => m.id)).toEqual(MODELS_HEALTHY.data.map((m) => m.id));
    expect(result.rows[0]).toMatchObject({
      context_length: 131072,
      pricing: { prompt: 0.3, completion: 1.2 },
    });
  });

  it("skips entries without a string id and keeps the first of duplicate ids", () => {
    const result = parseModelsFeed({
      object: "list",
      data: [{ id: "a" }, { id: 7 }, "junk", { id: "a", x: 1 }, { id: "" }],
    });
    expect(result).toEqual({ ok: true, rows: [{ id: "a" }], skipped: 4 });
  });

  it("rejects a body that is not an OpenAI list", () => {
    expect(parseModelsFeed([{ id: "a" }])).toMatchObject({ ok: false });
    expect(parseModelsFeed({ detail: "Not found" })).toMatchObject({ ok: false });
  });
});

describe("feed parsing on arbitrary JSON", () => {
  const rowLike = fc.record(
    {
      name: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      chute_id: fc.oneof(fc.string(), fc.constant(null), fc.boolean()),
      utilization_5m: fc.oneof(fc.double(), fc.string(), fc.constant(null)),
      rate_limit_ratio_5m: fc.oneof(fc.double(), fc.constant(null), fc.array(fc.integer())),
      active_instance_count: fc.oneof(fc.integer(), fc.double(), fc.string()),
      scalable: fc.oneof(fc.boolean(), fc.string(), fc.constant(null)),
      scale_allowance: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
    },
    { requiredKeys: [] },
  );

  it("never throws, and every admitted utilization row has the types ranking relies on", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.array(fc.oneof(rowLike, fc.jsonValue()))), (body) => {
        const result = parseUtilizationFeed(body);
        if (!result.ok) {
          expect(Array.isArray(body)).toBe(false);
          return;
        }
        expect(result.rows.length + result.skipped).toBe((body as unknown[]).length);
        for (const row of result.rows) {
          expect(typeof row.name).toBe("string");
          expect(Number.isFinite(row.active_instance_count)).toBe(true);
          for (const value of [row.utilization_5m, row.rate_limit_ratio_5m, row.scale_allowance]) {
            expect(value === null || value === undefined || Number.isFinite(value)).toBe(true);
          }
          expect([true, false, null, undefined]).toContain(row.scalable);
        }
      }),
    );
  });

  it("never throws on any models body, and admits only entries with a non-empty string id", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.record({ object: fc.constant("list"), data: fc.array(fc.jsonValue()) })),
        (body) => {
          const result = parseModelsFeed(body);
          if (!result.ok) return;
          for (const model of result.rows) {
            expect(typeof model.id).toBe("string");
            expect(model.id).not.toBe("");
          }
          expect(new Set(result.rows.map((m) => m.id)).size).toBe(result.rows.length);
        },
      ),
    );
  });
});
