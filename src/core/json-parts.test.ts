import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DataUrl, jsonParts, LARGE_STRING_CHARS } from "./json-parts.ts";

const BIG = "QUJD".repeat(LARGE_STRING_CHARS / 2);

describe("jsonParts", () => {
  it("joins to exactly what JSON.stringify writes, for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(jsonParts(value).join("")).toBe(JSON.stringify(value));
      }),
    );
  });

  it("writes a large string as a part of its own, the very string when it needs no escaping", () => {
    const parts = jsonParts({ messages: [{ role: "user", content: BIG }], n: 1 });
    expect(parts.join("")).toBe(JSON.stringify({ messages: [{ role: "user", content: BIG }], n: 1 }));
    expect(parts).toContain(BIG);
  });

  it("escapes a large string that needs it, as JSON.stringify would", () => {
    const quoted = `${BIG}"\n\\`;
    expect(jsonParts({ text: quoted }).join("")).toBe(JSON.stringify({ text: quoted }));
  });

  it("writes a data: URL from its two pieces, never joining them", () => {
    const url = new DataUrl("data:image/png;base64,", BIG);
    const parts = jsonParts({ image_url: { url } });
    expect(parts.join("")).toBe(JSON.stringify({ image_url: { url: `data:image/png;base64,${BIG}` } }));
    expect(parts).toContain(BIG);
    expect(parts).toContain("data:image/png;base64,");
  });

  it("falls back to plain serialization when content holds the mark it uses", () => {
    const value = { a: BIG, b: "\uE0000\uE000" };
    expect(jsonParts(value)).toEqual([JSON.stringify(value)]);
  });

  it("gives nothing for a value JSON.stringify drops", () => {
    expect(jsonParts(undefined)).toEqual([]);
  });
});
