import { describe, expect, it } from "vitest";
import models from "../../fixtures/chutes-models-2026-02-18.json";
import { pricingOf, spendUsd, usageOf } from "./spend.ts";

describe("spend", () => {
  it("reads every real model's pricing from the captured models feed", () => {
    const priced = models.data.map(pricingOf);
    expect(priced.every((pricing) => pricing !== null)).toBe(true);
    expect(pricingOf(models.data.find((m) => m.id === "Qwen/Qwen3-32B"))).toEqual({
      promptUsdPerMillion: 0.08,
      completionUsdPerMillion: 0.24,
      cacheReadUsdPerMillion: 0.04,
    });
  });

  it("prices prompt, cached prompt and completion tokens at their own rates", () => {
    const pricing = {
      promptUsdPerMillion: 0.08,
      completionUsdPerMillion: 0.24,
      cacheReadUsdPerMillion: 0.04,
    };
    const usage = usageOf({
      prompt_tokens: 1_000_000,
      completion_tokens: 500_000,
      prompt_tokens_details: { cached_tokens: 250_000 },
    });
    expect(usage).toEqual({ promptTokens: 1_000_000, completionTokens: 500_000, cachedTokens: 250_000 });
    expect(spendUsd(usage ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 }, pricing)).toBeCloseTo(
      0.75 * 0.08 + 0.25 * 0.04 + 0.5 * 0.24,
      12,
    );
  });

  it("prices cached tokens as prompt tokens when the model has no cache-read rate", () => {
    const pricing = { promptUsdPerMillion: 1, completionUsdPerMillion: 2, cacheReadUsdPerMillion: null };
    expect(spendUsd({ promptTokens: 10, completionTokens: 0, cachedTokens: 10 }, pricing)).toBeCloseTo(
      10 / 1e6,
      15,
    );
  });

  it("refuses usage and pricing it cannot trust", () => {
    expect(usageOf(null)).toBeNull();
    expect(usageOf({ total_tokens: 5 })).toBeNull();
    expect(usageOf({ prompt_tokens: 5, prompt_tokens_details: { cached_tokens: 9 } })?.cachedTokens).toBe(5);
    expect(pricingOf({ id: "x" })).toBeNull();
    expect(pricingOf({ pricing: { prompt: -1, completion: 1 } })).toBeNull();
    expect(pricingOf({ pricing: { prompt: "0.1", completion: 1 } })).toBeNull();
  });
});
