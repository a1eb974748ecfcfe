import { describe, expect, it } from "vitest";
import models from "../../fixtures/chutes-models-2026-02-18.json";
import {
  capabilitiesByModel,
  capabilitiesOf,
  type LearnedLimit,
  mergeLimitMaps,
  summarizeCapabilities,
  UNKNOWN_CAPABILITIES,
  withLimit,
} from "./capabilities.ts";
import { parseModelsFeed } from "./feeds.ts";

const feed = parseModelsFeed(models);
if (!feed.ok) throw new Error("the models capture does not parse");
const REAL = capabilitiesByModel(feed.rows);

describe("capabilitiesOf (the real models feed of 2026-02-18)", () => {
  it("reads a text-only 40k model with tools", () => {
    expect(REAL["Qwen/Qwen3-32B"]).toEqual({
      windowTokens: 40_960,
      maxOutputTokens: 40_960,
      images: false,
      maxImages: null,
      tools: true,
      jsonMode: true,
      structuredOutputs: true,
      reasoning: true,
    });
  });

  it("takes the smaller of context_length and max_model_len as the window", () => {
    expect(REAL["unsloth/gemma-3-4b-it"]?.windowTokens).toBe(96_000);
    expect(REAL["Qwen/Qwen2.5-VL-32B-Instruct"]?.windowTokens).toBe(16_384);
  });

  it("reads image input and the singular spelling of structured_output", () => {
    expect(REAL["unsloth/gemma-3-12b-it"]).toMatchObject({
      images: true,
      structuredOutputs: true,
      tools: false,
    });
  });

  it("leaves what the entry does not say unknown", () => {
    expect(REAL["NousResearch/Hermes-4.3-36B"]).toEqual({ ...UNKNOWN_CAPABILITIES, windowTokens: 524_288 });
    expect(capabilitiesOf({ id: "x" })).toEqual(UNKNOWN_CAPABILITIES);
  });

  it("ignores a window that is not a positive integer", () => {
    expect(capabilitiesOf({ id: "x", context_length: "131072", max_model_len: -1 }).windowTokens).toBeNull();
  });
});

describe("summarizeCapabilities", () => {
  it("gives an alias the largest window and output among its models and the union of their features", () => {
    const summary = summarizeCapabilities(Object.values(REAL));
    expect(summary.windowTokens).toBe(524_288);
    expect(summary.maxOutputTokens).toBe(262_144);
    expect(summary.inputModalities).toEqual(["text", "image"]);
    expect(summary.features).toEqual(["tools", "json_mode", "structured_outputs", "reasoning"]);
    expect(summary.windowTokensWith).toEqual({
      tools: 262_144,
      images: 262_144,
      structured_outputs: 262_144,
    });
  });
});

describe("learned limits", () => {
  const limit = (fields: Partial<LearnedLimit>): LearnedLimit => ({
    windowTokens: null,
    maxImages: null,
    lacks: [],
    untilMs: 10_000,
    ...fields,
  });

  it("narrow a model's capabilities until they expire", () => {
    const qwen = REAL["Qwen/Qwen3-32B"] ?? UNKNOWN_CAPABILITIES;
    const learned = limit({ windowTokens: 32_768, lacks: ["tools"] });
    expect(withLimit(qwen, learned, 5_000)).toMatchObject({ windowTokens: 32_768, tools: false });
    expect(withLimit(qwen, learned, 10_000)).toEqual(qwen);
  });

  it("merge to the tightest, keeping every lack and the later expiry, and drop the expired", () => {
    const into = { a: limit({ windowTokens: 32_000, lacks: ["images"] }), gone: limit({ untilMs: 100 }) };
    mergeLimitMaps(into, { a: limit({ windowTokens: 16_000, maxImages: 1, untilMs: 20_000 }) }, 500);
    expect(into).toEqual({
      a: { windowTokens: 16_000, maxImages: 1, lacks: ["images"], untilMs: 20_000 },
    });
  });
});
