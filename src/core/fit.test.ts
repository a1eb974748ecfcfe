import { describe, expect, it } from "vitest";
import { type ModelCapabilities, UNKNOWN_CAPABILITIES } from "./capabilities.ts";
import { directOutput, judgeFit, USEFUL_OUTPUT_TOKENS } from "./fit.ts";
import type { RequestProfile } from "./request-profile.ts";

const MODEL: ModelCapabilities = {
  windowTokens: 40_960,
  maxOutputTokens: 16_384,
  images: false,
  maxImages: null,
  tools: true,
  jsonMode: true,
  structuredOutputs: false,
  reasoning: false,
};
const NO_NEEDS = { tools: false, images: 0, jsonSchema: false, jsonObject: false };
const profile = (inputTokens: number, requested: number | null, needs = {}): RequestProfile => ({
  inputTokens,
  inputCounted: false,
  requestedOutputTokens: requested,
  needs: { ...NO_NEEDS, ...needs },
});

describe("judgeFit", () => {
  it("fits a small request as it is", () => {
    expect(judgeFit(MODEL, profile(1_000, 500))).toEqual({ kind: "fits", maxTokens: null });
  });

  it("lowers the output to the model's max output, then to the room its window leaves", () => {
    expect(judgeFit(MODEL, profile(1_000, 128_000))).toEqual({ kind: "fits", maxTokens: 16_384 });
    expect(judgeFit(MODEL, profile(30_000, 128_000))).toEqual({ kind: "fits", maxTokens: 10_959 });
  });

  it("leaves a request that set no output limit alone, as long as a useful answer fits", () => {
    expect(judgeFit(MODEL, profile(30_000, null))).toEqual({ kind: "fits", maxTokens: null });
    expect(judgeFit(MODEL, profile(40_960 - USEFUL_OUTPUT_TOKENS, null))).toMatchObject({ kind: "misfit" });
  });

  it("rules a model out when the prompt leaves no room for a useful answer", () => {
    expect(judgeFit(MODEL, profile(60_000, 1_000))).toEqual({
      kind: "misfit",
      misfit: { kind: "context", windowTokens: 40_960 },
    });
    // A small request asks for less than a useful answer: room for what it asked is enough.
    expect(judgeFit(MODEL, profile(40_000, 900))).toEqual({ kind: "fits", maxTokens: null });
    expect(judgeFit(MODEL, profile(40_000, 960))).toMatchObject({ kind: "misfit" });
  });

  it.each([
    ["images", { images: 1 }, "images"],
    ["a JSON schema", { jsonSchema: true }, "json_schema"],
  ] as const)("rules a model out that lacks %s", (_, needs, capability) => {
    expect(judgeFit(MODEL, profile(100, 10, needs))).toEqual({
      kind: "misfit",
      misfit: { kind: "capability", capability },
    });
  });

  it("takes JSON mode from a model with structured outputs or JSON mode", () => {
    expect(judgeFit(MODEL, profile(100, 10, { jsonObject: true })).kind).toBe("fits");
    const neither = { ...MODEL, jsonMode: false };
    expect(judgeFit(neither, profile(100, 10, { jsonObject: true })).kind).toBe("misfit");
  });

  it("rules a model out that takes fewer images than the request has", () => {
    const vision = { ...MODEL, images: true, maxImages: 1 };
    expect(judgeFit(vision, profile(100, 10, { images: 1 })).kind).toBe("fits");
    expect(judgeFit(vision, profile(100, 10, { images: 3 })).kind).toBe("misfit");
  });

  it("calls a model unknown when its entry does not say what the request needs or how large it is", () => {
    expect(judgeFit(undefined, profile(100, 10))).toEqual({ kind: "unknown", maxTokens: null });
    expect(judgeFit({ ...MODEL, tools: null }, profile(100, 10, { tools: true })).kind).toBe("unknown");
    const noWindow = { ...UNKNOWN_CAPABILITIES, maxOutputTokens: 8_192 };
    expect(judgeFit(noWindow, profile(100, 10_000))).toEqual({ kind: "unknown", maxTokens: 8_192 });
  });
});

describe("directOutput", () => {
  it("lowers the output to what the model can give without ever refusing", () => {
    expect(directOutput(MODEL, profile(1_000, 128_000))).toBe(16_384);
    expect(directOutput(MODEL, profile(30_000, 128_000))).toBe(10_959);
    // The estimate says it does not fit: the engine decides, asked for no more than the model's max output.
    expect(directOutput(MODEL, profile(60_000, 128_000))).toBe(16_384);
    expect(directOutput(MODEL, profile(60_000, 100))).toBeNull();
    expect(directOutput(undefined, profile(60_000, 128_000))).toBeNull();
  });
});
