import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeToolId, encodeToolId } from "./tool-ids.ts";

describe("tool ids", () => {
  it("keeps an id that Anthropic accepts as it is", () => {
    expect(encodeToolId("call_abc-123")).toBe("call_abc-123");
    expect(decodeToolId("toolu_01ABC")).toBe("toolu_01ABC");
  });

  it("encodes a Kimi-style id into Anthropic's alphabet and gets it back exactly", () => {
    const encoded = encodeToolId("functions.Bash:0");
    expect(encoded).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(decodeToolId(encoded)).toBe("functions.Bash:0");
  });

  it("round-trips any upstream id, including ones that look encoded already", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constant("toolu_x_abc")),
        (id) => {
          const encoded = encodeToolId(id === "" ? "x" : id);
          expect(encoded).toMatch(/^[a-zA-Z0-9_-]+$/);
          expect(decodeToolId(encoded)).toBe(id === "" ? "x" : id);
        },
      ),
      { numRuns: 300 },
    );
  });
});
