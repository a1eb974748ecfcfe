import fc from "fast-check";
import { describe, expect, it } from "vitest";
import counts from "../../fixtures/estimator/counts.json";
import { estimateTextTokens, textWeight } from "./token-estimate.ts";

// The corpus of `npm run estimator`, with the largest count six real tokenizers (Qwen3, DeepSeek-V3, Llama 3,
// Gemma 3, Mistral Nemo, o200k) gave each sample when the script last ran.
const SAMPLES = import.meta.glob<string>("../../fixtures/estimator/*.txt", {
  query: "?raw",
  import: "default",
  eager: true,
});
const LARGEST: Record<string, { largest: number }> = counts;
const samples = Object.entries(SAMPLES).map(([path, text]) => {
  const name = path.split("/").at(-1) as string;
  return { name, text, largest: LARGEST[name]?.largest };
});

describe("estimateTextTokens", () => {
  it("has a real count for every sample of the corpus", () => {
    expect(samples.length).toBeGreaterThanOrEqual(12);
    for (const sample of samples) expect(sample.largest, sample.name).toBeGreaterThan(0);
  });

  it.each(samples.map((sample) => [sample.name, sample] as const))(
    "is at or above the largest real tokenizer count, within 60 %%, on %s",
    (_, sample) => {
      const estimate = estimateTextTokens(sample.text);
      expect(estimate).toBeGreaterThanOrEqual(sample.largest as number);
      expect(estimate).toBeLessThanOrEqual(Math.ceil((sample.largest as number) * 1.6));
    },
  );

  it("counts a base64 payload like letters, which is why images never reach it", () => {
    // 4,000 base64 characters are about 1,100 tokens of text; the image they encode costs by its pixels.
    expect(estimateTextTokens("iVBORw0KGgo".repeat(400))).toBeGreaterThan(1_000);
  });

  it("counts a character of a surrogate pair once", () => {
    expect(textWeight("😀")).toBe(textWeight("é"));
  });

  it("grows with the text and is zero only for nothing", () => {
    expect(estimateTextTokens("")).toBe(0);
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), (text, more) => {
        expect(estimateTextTokens(text)).toBeGreaterThan(0);
        expect(estimateTextTokens(text + more)).toBeGreaterThanOrEqual(estimateTextTokens(text));
      }),
    );
  });
});
