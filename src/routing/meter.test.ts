import { describe, expect, it } from "vitest";
import type { ModelPricing } from "../core/spend.ts";
import { actualUse, answerUse, needOf } from "./meter.ts";

const price = (prompt: number, completion: number, cacheRead: number | null = null): ModelPricing => ({
  promptUsdPerMillion: prompt,
  completionUsdPerMillion: completion,
  cacheReadUsdPerMillion: cacheRead,
});

describe("what a request reserves", () => {
  const estimate = { promptTokens: 2_000, completionTokens: 500 };

  it("reserves the estimated tokens, prompt and completion together", () => {
    const need = needOf(estimate, { candidates: ["a"], pricing: { a: price(1, 1) } });
    expect(need.tokens).toBe(2_500);
  });

  it("prices the estimate at the dearest candidate's rates", () => {
    const need = needOf(estimate, {
      candidates: ["cheap", "dear"],
      pricing: { cheap: price(0.1, 0.2), dear: price(3, 15) },
    });
    expect(need.usd).toBeCloseTo((2_000 * 3 + 500 * 15) / 1e6, 12);
  });

  it("takes the dearest prompt and the dearest completion rate even from two different models", () => {
    const need = needOf(estimate, {
      candidates: ["long-prompt", "long-answer"],
      pricing: { "long-prompt": price(4, 1), "long-answer": price(0.5, 20) },
    });
    expect(need.usd).toBeCloseTo((2_000 * 4 + 500 * 20) / 1e6, 12);
  });

  it("ignores candidates without a price, and priced models that are not candidates", () => {
    const need = needOf(estimate, {
      candidates: ["unpriced", "priced"],
      pricing: { priced: price(1, 2), elsewhere: price(100, 100) },
    });
    expect(need.usd).toBeCloseTo((2_000 * 1 + 500 * 2) / 1e6, 12);
  });

  it("reserves no dollars when no candidate has a price, but still the tokens", () => {
    const need = needOf(estimate, { candidates: ["x", "y"], pricing: {} });
    expect(need).toEqual({ tokens: 2_500, usd: 0 });
  });

  it("reserves nothing for an empty estimate", () => {
    expect(
      needOf({ promptTokens: 0, completionTokens: 0 }, { candidates: ["a"], pricing: { a: price(5, 5) } }),
    ).toEqual({ tokens: 0, usd: 0 });
  });
});

describe("what an answer cost", () => {
  it("charges prompt, cached and completion tokens at their own rates", () => {
    const use = actualUse(
      { promptTokens: 1_000_000, completionTokens: 200_000, cachedTokens: 400_000, estimated: false },
      price(2, 8, 0.5),
    );
    expect(use.promptTokens).toBe(1_000_000);
    expect(use.completionTokens).toBe(200_000);
    expect(use.usd).toBeCloseTo(0.6 * 2 + 0.4 * 0.5 + 0.2 * 8, 12);
  });

  it("charges cached tokens at the prompt rate when the model has no cache-read rate", () => {
    const use = actualUse(
      { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 1_000_000, estimated: false },
      price(2, 8),
    );
    expect(use.usd).toBeCloseTo(2, 12);
  });

  it("charges an estimated usage like a reported one", () => {
    const use = actualUse(
      { promptTokens: 500_000, completionTokens: 100_000, cachedTokens: 0, estimated: true },
      price(1, 10),
    );
    expect(use.usd).toBeCloseTo(0.5 + 1, 12);
  });

  it("counts the tokens but charges nothing when the model has no price", () => {
    expect(
      actualUse({ promptTokens: 10, completionTokens: 20, cachedTokens: 0, estimated: false }, undefined),
    ).toEqual({ promptTokens: 10, completionTokens: 20, usd: 0 });
  });

  it("charges nothing without usage", () => {
    expect(actualUse(null, price(2, 8))).toEqual({ promptTokens: 0, completionTokens: 0, usd: 0 });
  });

  it("charges each part of an answer that spanned attempts at its own model's price", () => {
    const pricing: Record<string, ModelPricing> = { a: price(1, 2), b: price(10, 20) };
    const { used, estimated } = answerUse(
      [
        { model: "a", usage: { promptTokens: 100, completionTokens: 50, cachedTokens: 0, estimated: false } },
        { model: "b", usage: { promptTokens: 120, completionTokens: 30, cachedTokens: 0, estimated: true } },
      ],
      (model) => pricing[model],
    );
    expect(used).toMatchObject({ promptTokens: 220, completionTokens: 80 });
    expect(used.usd).toBeCloseTo((100 * 1 + 50 * 2 + 120 * 10 + 30 * 20) / 1e6, 12);
    expect(estimated).toBe(true);
  });
});
