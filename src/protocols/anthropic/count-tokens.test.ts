import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { estimateInputTokens } from "./count-tokens.ts";

const IMAGE = { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } };
const TOOL = {
  name: "Bash",
  description: "Run a shell command",
  input_schema: { type: "object", properties: {} },
};

/** A naive count: every string in the body (roles, types and ids included) at four characters a token. */
function charsOverFour(body: unknown): number {
  let chars = 0;
  JSON.stringify(body, (_key, value: unknown) => {
    if (typeof value === "string") chars += value.length;
    return value;
  });
  return Math.ceil(chars / 4);
}

describe("estimateInputTokens", () => {
  it.each([
    ["a short prompt", { messages: [{ role: "user", content: "Hello there" }] }],
    [
      "a system prompt and a long turn",
      { system: "Be brief. ".repeat(50), messages: [{ role: "user", content: "é".repeat(3000) }] },
    ],
    [
      "system blocks and tools",
      {
        system: [{ type: "text", text: "You are Claude Code." }],
        tools: [TOOL],
        messages: [{ role: "user", content: "ls" }],
      },
    ],
    [
      "a tool round trip",
      {
        messages: [
          { role: "user", content: "list files" },
          {
            role: "assistant",
            content: [{ type: "tool_use", id: "t1", name: "Bash", input: { command: "ls -la" } }],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "a\nb\nc" }] },
            ],
          },
        ],
      },
    ],
    ["CJK text", { messages: [{ role: "user", content: "日本語のテキスト".repeat(200) }] }],
  ])("is at least a chars/4 count of every string in the body for %s", (_, body) => {
    expect(estimateInputTokens(body)).toBeGreaterThanOrEqual(charsOverFour(body));
  });

  it("charges a flat amount per image instead of its base64 length", () => {
    const withImage = { messages: [{ role: "user", content: [IMAGE, { type: "text", text: "what?" }] }] };
    const without = { messages: [{ role: "user", content: [{ type: "text", text: "what?" }] }] };
    expect(estimateInputTokens(withImage) - estimateInputTokens(without)).toBe(1600);
  });

  it("counts tool definitions and tool inputs", () => {
    const base = { messages: [{ role: "user", content: "go" }] };
    expect(estimateInputTokens({ ...base, tools: [TOOL] })).toBeGreaterThan(estimateInputTokens(base));
    const call = {
      role: "assistant",
      content: [{ type: "tool_use", id: "t", name: "Bash", input: { command: "x".repeat(300) } }],
    };
    expect(estimateInputTokens({ messages: [...base.messages, call] })).toBeGreaterThanOrEqual(100 + 8);
  });

  it.each([null, "text", 42, [], { messages: "not a list" }])(
    "answers a number for a body of any shape (%j)",
    (body) => {
      expect(Number.isInteger(estimateInputTokens(body))).toBe(true);
    },
  );

  it("never estimates below ceil(chars / 4) of the text for any text messages", () => {
    const turn = fc.record({
      role: fc.constantFrom("user", "assistant"),
      content: fc.string({ unit: "binary", maxLength: 400 }),
    });
    fc.assert(
      fc.property(
        fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
        fc.array(turn, { minLength: 1, maxLength: 8 }),
        (system, messages) => {
          const chars =
            (system ?? "").length + messages.reduce((sum, message) => sum + message.content.length, 0);
          expect(estimateInputTokens({ system, messages })).toBeGreaterThanOrEqual(Math.ceil(chars / 4));
        },
      ),
      { numRuns: 300 },
    );
  });
});
