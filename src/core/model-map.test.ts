import { describe, expect, it } from "vitest";
import { mapModel, parseModelMap } from "./model-map.ts";

describe("ANTHROPIC_MODEL_MAP", () => {
  const map = parseModelMap("claude-3-5-haiku*=fake/fast, claude-*=chutesai/AutoPilot, exact=x/y") ?? [];

  it("maps by the first pattern that matches, with * matching any run of characters", () => {
    expect(mapModel("claude-3-5-haiku-20241022", map)).toBe("fake/fast");
    expect(mapModel("claude-sonnet-4-6", map)).toBe("chutesai/AutoPilot");
    expect(mapModel("exact", map)).toBe("x/y");
  });

  it("leaves a name no pattern matches as it is", () => {
    expect(mapModel("deepseek-ai/DeepSeek-V3", map)).toBe("deepseek-ai/DeepSeek-V3");
    expect(mapModel("exactly", map)).toBe("exactly");
  });

  it("matches stars in the middle and at both ends", () => {
    const inner = parseModelMap("a*b*c=t,*-fast=f,*=all") ?? [];
    expect(mapModel("a1b2c", inner)).toBe("t");
    expect(mapModel("abc", inner)).toBe("t");
    expect(mapModel("acb", inner)).toBe("all");
    expect(mapModel("model-fast", inner)).toBe("f");
  });

  it("refuses a pair without = or with an empty side", () => {
    expect(parseModelMap("claude-*")).toBeNull();
    expect(parseModelMap("=x")).toBeNull();
    expect(parseModelMap("claude-*=")).toBeNull();
    expect(parseModelMap("")).toEqual([]);
  });
});
