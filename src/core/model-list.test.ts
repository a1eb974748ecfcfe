import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findUnknownModels, parseModelList, resolveMode } from "./model-list.ts";

const OPTIONS = {
  aliasModel: "chutesai/AutoPilot",
  teeAliasModel: "chutesai/AutoPilot-TEE",
  maxModelListItems: 3,
};

describe("resolveMode", () => {
  it.each([
    ["chutesai/AutoPilot", { kind: "alias", confidentialOnly: false }],
    ["chutesai/AutoPilot-TEE", { kind: "alias", confidentialOnly: true }],
    ["chutesai/autopilot", { kind: "direct", model: "chutesai/autopilot" }],
    ["acme/x", { kind: "direct", model: "acme/x" }],
    ["a, b ,a", { kind: "list", models: ["a", "b"] }],
    ["a,", { kind: "list", models: ["a"] }],
  ])("reads %j as %j", (model, mode) => {
    expect(resolveMode(model, OPTIONS)).toEqual({ ok: true, mode });
  });

  it("treats the alias exactly: inside a list it is just a name", () => {
    expect(resolveMode("chutesai/AutoPilot,acme/x", OPTIONS)).toEqual({
      ok: true,
      mode: { kind: "list", models: ["chutesai/AutoPilot", "acme/x"] },
    });
  });

  it.each([[","], [" , , "]])("refuses the empty list %j", (model) => {
    expect(resolveMode(model, OPTIONS)).toMatchObject({ ok: false, code: "invalid_model_list" });
  });

  it("counts the limit after de-duplication", () => {
    expect(resolveMode("a,b,c,a,b", OPTIONS).ok).toBe(true);
    expect(resolveMode("a,b,c,d", OPTIONS)).toMatchObject({ ok: false, code: "invalid_model_list" });
  });
});

describe("parseModelList", () => {
  it("never throws, and returns trimmed, non-empty, unique names in first-seen order", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 20 }), (parts) => {
        const models = parseModelList(parts.join(","));
        expect(new Set(models).size).toBe(models.length);
        for (const model of models) {
          expect(model).toBe(model.trim());
          expect(model).not.toBe("");
          expect(model).not.toContain(",");
        }
        const expected = [
          ...new Set(
            parts
              .flatMap((p) => p.split(","))
              .map((p) => p.trim())
              .filter(Boolean),
          ),
        ];
        expect(models).toEqual(expected);
      }),
    );
  });
});

describe("findUnknownModels", () => {
  it("names the models outside a non-empty allowlist", () => {
    expect(findUnknownModels(["a", "x", "b", "y"], new Set(["a", "b"]))).toEqual(["x", "y"]);
  });

  it("accepts everything when the allowlist is empty", () => {
    expect(findUnknownModels(["anything"], new Set())).toEqual([]);
  });
});
