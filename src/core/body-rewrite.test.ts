import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bodyRewriter, chatBodyWriter, replaceModel } from "./body-rewrite.ts";
import { DataUrl, LARGE_STRING_CHARS } from "./json-parts.ts";

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

describe("bodyRewriter", () => {
  const raw =
    '{ "max_tokens" : 128000, "model":"a", "messages":[{"max_tokens":5}], "max_completion_tokens":9e4 }';

  it("lowers every top-level output field above the limit and nothing else", () => {
    expect(bodyRewriter(raw)("b", 4096).join("")).toBe(
      '{ "max_tokens" : 4096, "model":"b", "messages":[{"max_tokens":5}], "max_completion_tokens":4096 }',
    );
  });

  it("keeps an output field already within the limit as the client spelled it", () => {
    expect(bodyRewriter(raw)("b", 100_000).join("")).toBe(
      '{ "max_tokens" : 100000, "model":"b", "messages":[{"max_tokens":5}], "max_completion_tokens":9e4 }',
    );
    expect(bodyRewriter(raw)("b", null).join("")).toBe(raw.replace('"a"', '"b"'));
  });

  it("writes the body as slices of the client's text around the new values", () => {
    const big = "x".repeat(100_000);
    const body = `{"model":"a","messages":[{"role":"user","content":"${big}"}]}`;
    const parts = bodyRewriter(body)("b", null);
    expect(parts).toEqual(['{"model":', '"b"', body.slice('{"model":"a"'.length)]);
  });
});

describe("chatBodyWriter", () => {
  it("puts the candidate's model and output limit first, then the body as serialized once", () => {
    const chat = { messages: [{ role: "user", content: "hi" }], max_tokens: 128_000, stream: true };
    const write = chatBodyWriter(chat);
    expect(JSON.parse(write("m1", 4096).join(""))).toEqual({ ...chat, model: "m1", max_tokens: 4096 });
    expect(JSON.parse(write("m2", null).join(""))).toEqual({ ...chat, model: "m2" });
    expect(Object.keys(JSON.parse(write("m2", null).join("")))).toEqual([
      "model",
      "max_tokens",
      "messages",
      "stream",
    ]);
  });

  it("keeps a large image's payload apart from the rest", () => {
    const payload = "iVBO".repeat(LARGE_STRING_CHARS);
    const url = new DataUrl("data:image/png;base64,", payload);
    const parts = chatBodyWriter({
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
    })("m", null);
    expect(parts).toContain(payload);
    const body = JSON.parse(parts.join("")) as {
      messages: Array<{ content: Array<{ image_url: { url: string } }> }>;
    };
    expect(body.messages[0]?.content[0]?.image_url.url).toBe(`data:image/png;base64,${payload}`);
  });

  it("writes a body with nothing but a model", () => {
    expect(chatBodyWriter({})("m", null).join("")).toBe('{"model":"m"}');
  });
});
