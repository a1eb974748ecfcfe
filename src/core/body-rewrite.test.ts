import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { replaceModel } from "./body-rewrite.ts";

describe("replaceModel", () => {
  it.each([
    ['{"model":"a"}', '{"model":"b"}'],
    ['{ "model" : "a" , "x": 1.0 }', '{ "model" : "b" , "x": 1.0 }'],
    ['{"x":{"model":"inner"},"model":"a"}', '{"x":{"model":"inner"},"model":"b"}'],
    [
      '{"messages":[{"content":"\\"model\\": \\"a\\""}],"model":"a"}',
      '{"messages":[{"content":"\\"model\\": \\"a\\""}],"model":"b"}',
    ],
    ['{"mod\\u0065l":"a"}', '{"mod\\u0065l":"b"}'],
    ['{"model":"a","model":"c"}', '{"model":"b","model":"b"}'],
    [
      '{"seed":123456789012345678901234,"model":"a","t":1e3}',
      '{"seed":123456789012345678901234,"model":"b","t":1e3}',
    ],
    ['\n{\n  "model": "a"\n}\n', '\n{\n  "model": "b"\n}\n'],
  ])("rewrites %s", (input, expected) => {
    expect(replaceModel(input, "b")).toBe(expected);
  });

  it("escapes the new model name as a JSON string", () => {
    expect(JSON.parse(replaceModel('{"model":"a"}', 'we"ird\\name\n'))).toEqual({ model: 'we"ird\\name\n' });
  });

  it("changes only the top-level model of any JSON object", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (object, model) => {
        const raw = JSON.stringify({ ...object, model: "original" });
        const rewritten = JSON.parse(replaceModel(raw, model)) as Record<string, unknown>;
        expect(rewritten).toEqual({ ...JSON.parse(raw), model });
        expect(Object.keys(rewritten)).toEqual(Object.keys(JSON.parse(raw)));
      }),
    );
  });
});
