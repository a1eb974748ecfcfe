import { describe, expect, it } from "vitest";
import { isAllowedKey } from "./api-keys.ts";

const KEYS = ["rk_alpha", "rk_beta_longer"];

describe("isAllowedKey", () => {
  it.each([
    ["rk_alpha", true],
    ["rk_beta_longer", true],
    ["rk_alph", false],
    ["rk_alpha_", false],
    ["RK_ALPHA", false],
    ["", false],
  ])("%j → %s", (presented, allowed) => {
    expect(isAllowedKey(presented, KEYS)).toBe(allowed);
  });

  it("refuses a missing key, even against an empty-looking list", () => {
    expect(isAllowedKey(null, KEYS)).toBe(false);
    expect(isAllowedKey(null, [""])).toBe(false);
  });
});
