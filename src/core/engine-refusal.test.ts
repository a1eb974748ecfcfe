import { describe, expect, it } from "vitest";
import { classifyEngineRefusal, classifyStreamedRefusal, errorMessageOf } from "./engine-refusal.ts";

// The engines' wordings, as research/capability-routing.md §2 quotes them with their sources, and what each
// tells: [wording, kind, window, input, output, images].
const WORDINGS: Array<[string, string, number | null, number | null, number | null, number | null]> = [
  [
    "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens (38000 in the messages, 2000 in the completion). Please reduce the length of the messages or completion.",
    "context_length",
    32768,
    38000,
    2000,
    null,
  ],
  [
    "This model's maximum context length is 32768 tokens. However, you requested 38000 tokens in the messages, Please reduce the length of the messages.",
    "context_length",
    32768,
    38000,
    null,
    null,
  ],
  [
    "'max_tokens' or 'max_completion_tokens' is too large: 128000. This model's maximum context length is 131072 tokens and your request has 20412 input tokens (128000 > 131072 - 20412). None",
    "context_length",
    131072,
    20412,
    128000,
    null,
  ],
  [
    "This model's maximum context length is 40960 tokens. However, your request has 61023 input tokens. Please reduce the length of the input messages. (parameter=input_tokens, value=61023)",
    "context_length",
    40960,
    61023,
    null,
    null,
  ],
  [
    "You passed 61023 input tokens and requested 128000 output tokens. However, the model's context length is only 131072 tokens, resulting in a maximum input length of 3072 tokens. Please reduce the length of the input prompt. (parameter=input_tokens, value=61023)",
    "context_length",
    131072,
    61023,
    128000,
    null,
  ],
  [
    "This model's maximum context length is 131072 tokens. However, you requested 128000 output tokens and your prompt contains at least 20413 input tokens, for a total of at least 148413 tokens. Please reduce the length of the input prompt or the number of requested output tokens. (parameter=input_tokens, value=20413)",
    "context_length",
    131072,
    20413,
    128000,
    null,
  ],
  [
    "You passed 812345 input characters and requested 4096 output tokens. However, the model's context length is only 131072 tokens, resulting in a maximum input length of 126976 tokens (at most 507904 characters). Please reduce the length of the input prompt. (parameter=input_text, value=812345)",
    "context_length",
    131072,
    null,
    4096,
    null,
  ],
  [
    "max_tokens=200000 cannot be greater than max_model_len=max_total_tokens=163840.",
    "context_length",
    163840,
    null,
    200000,
    null,
  ],
  [
    "The decoder prompt (length 42211) is longer than the maximum model length of 32768. Make sure that `max_model_len` is no smaller than the number of text tokens plus multimodal tokens.",
    "context_length",
    32768,
    42211,
    null,
    null,
  ],
  ["max_tokens must be at least 1, got -563072.", "context_length", null, null, null, null],
  [
    "The input (50123 tokens) is longer than the model's context length (40960 tokens).",
    "context_length",
    40960,
    50123,
    null,
    null,
  ],
  [
    "Requested token count exceeds the model's maximum context length of 40960 tokens. You requested a total of 58000 tokens: 26000 tokens from the input messages and 32000 tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit.",
    "context_length",
    40960,
    26000,
    32000,
    null,
  ],
  [
    "max_completion_tokens is too large: 128000.This model supports at most 40960 completion tokens.",
    "context_length",
    40960,
    null,
    128000,
    null,
  ],
  [
    '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
    "tools",
    null,
    null,
    null,
    null,
  ],
  ["unsloth/Mistral-Nemo-Instruct-2407 is not a multimodal model", "images", null, null, null, null],
  ["At most 1 image(s) may be provided in one request.", "images", null, null, null, 1],
  [
    "You set image=2 (or defaulted to 1) in --limit-mm-per-prompt, but passed 3 image items in the same prompt.",
    "images",
    null,
    null,
    null,
    2,
  ],
  ["The provided JSON schema contains features not supported by xgrammar.", "schema", null, null, null, null],
  [
    "Failed to transform json schema into a grammar: unsupported keyword 'patternProperties'",
    "schema",
    null,
    null,
    null,
    null,
  ],
  ["schema_ is required for json_schema response format request.", "schema", null, null, null, null],
];

/** The shapes a refusal reaches the router in. */
const SHAPES: Array<[string, (message: string) => string]> = [
  [
    "flat (vLLM ≤ 0.10, SGLang)",
    (message) =>
      JSON.stringify({ object: "error", message, type: "BadRequestError", param: null, code: 400 }),
  ],
  [
    "nested (vLLM ≥ 0.10.1)",
    (message) =>
      JSON.stringify({ error: { message, type: "BadRequestError", param: "input_tokens", code: 400 } }),
  ],
  ["wrapped by Chutes", (message) => JSON.stringify({ detail: message })],
  [
    "wrapped by Chutes around the engine's JSON",
    (message) => JSON.stringify({ detail: JSON.stringify({ object: "error", message }) }),
  ],
  [
    "wrapped by Chutes around a nested error",
    (message) => JSON.stringify({ detail: { error: { message } } }),
  ],
];

describe("classifyEngineRefusal", () => {
  describe.each(SHAPES)("%s", (_, shape) => {
    it.each(WORDINGS)(
      "recognises %s",
      (message, kind, windowTokens, inputTokens, outputTokens, maxImages) => {
        expect(classifyEngineRefusal(400, shape(message))).toEqual({
          kind,
          windowTokens,
          inputTokens,
          outputTokens,
          maxImages,
        });
      },
    );
  });

  it("recognises the same refusal as a stream's first event", () => {
    const data = JSON.stringify({ error: { message: WORDINGS[11]?.[0], code: 400 } });
    expect(classifyStreamedRefusal(data)).toMatchObject({ kind: "context_length", inputTokens: 26000 });
    expect(
      classifyStreamedRefusal(JSON.stringify({ object: "error", message: WORDINGS[13]?.[0] })),
    ).toMatchObject({ kind: "tools" });
  });

  it.each([
    [400, '{"detail":"Invalid value for temperature"}'],
    [400, '{"error":{"message":"messages: field required"}}'],
    [401, '{"detail":"This model\'s maximum context length is 4 tokens."}'],
    [500, '{"detail":"This model\'s maximum context length is 4 tokens."}'],
    [400, "<html>Bad Request</html>"],
    [422, '{"detail":[{"loc":["body","messages"],"msg":"field required"}]}'],
    [400, ""],
  ])("leaves any other answer alone (%i %s)", (status, body) => {
    expect(classifyEngineRefusal(status, body)).toBeNull();
  });
});

describe("errorMessageOf", () => {
  it("reads the message of every shape, and nothing from a body that is not JSON", () => {
    expect(errorMessageOf('{"detail":"No instances"}')).toBe("No instances");
    expect(errorMessageOf('{"error":"Unhandled exception during response stream"}')).toBe(
      "Unhandled exception during response stream",
    );
    expect(errorMessageOf("<html></html>")).toBeNull();
  });
});
