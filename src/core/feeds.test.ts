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
