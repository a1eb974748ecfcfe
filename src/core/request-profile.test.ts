import { describe, expect, it } from "vitest";
import { imageTokens } from "./image-tokens.ts";
import { profileChatBody, profileCompletionBody, requestedOutput } from "./request-profile.ts";
import { estimateTextTokens, TOKENS_PER_MESSAGE } from "./token-estimate.ts";

const SCREENSHOT = `data:image/png;base64,${btoa(
  String.fromCharCode(
    ...[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52],
    ...[0, 0, 7, 128, 0, 0, 4, 56, 8, 2, 0, 0, 0],
    ...new Array(40).fill(0),
  ),
)}${"A".repeat(200_000)}`;
const TOOL = {
  type: "function",
  function: { name: "Bash", description: "Run a command", parameters: { type: "object", properties: {} } },
};

describe("profileChatBody", () => {
  it("estimates the prompt from the text of every message, plus the template's tokens per message", () => {
    const text = "Summarise the attached report in three bullet points.";
    const profile = profileChatBody({ messages: [{ role: "user", content: text }] });
    expect(profile.inputTokens).toBe(estimateTextTokens(text) + TOKENS_PER_MESSAGE);
    expect(profile.inputCounted).toBe(false);
  });

  it("costs an image by its pixels, never by its base64 length", () => {
    const profile = profileChatBody({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is on the screen?" },
            { type: "image_url", image_url: { url: SCREENSHOT } },
          ],
        },
      ],
    });
    expect(profile.needs.images).toBe(1);
    expect(profile.inputTokens).toBeLessThan(imageTokens(SCREENSHOT) + 100);
    expect(imageTokens(SCREENSHOT)).toBe(69 * 39 + 2);
  });

  it("finds images anywhere in the conversation, in tool results too", () => {
    const profile = profileChatBody({
      messages: [
        { role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] },
        { role: "assistant", content: "Looked." },
        { role: "tool", tool_call_id: "1", content: "done" },
        { role: "user", content: [{ type: "image_url", image_url: SCREENSHOT }] },
      ],
    });
    expect(profile.needs.images).toBe(2);
  });

  it("needs tools when tools are sent, unless tool_choice is none, and counts their schemas either way", () => {
    const messages = [{ role: "user", content: "list the files" }];
    const withTools = profileChatBody({ messages, tools: [TOOL] });
    expect(withTools.needs.tools).toBe(true);
    expect(profileChatBody({ messages, tools: [TOOL], tool_choice: "none" }).needs.tools).toBe(false);
    expect(profileChatBody({ messages, tools: [] }).needs.tools).toBe(false);
    expect(withTools.inputTokens).toBeGreaterThan(profileChatBody({ messages }).inputTokens + 300);
  });

  it("counts the assistant's earlier tool calls and reasoning", () => {
    const call = {
      role: "assistant",
      content: null,
      tool_calls: [{ function: { name: "Bash", arguments: "x".repeat(4000) } }],
    };
    expect(profileChatBody({ messages: [call] }).inputTokens).toBeGreaterThan(1000);
    const thought = { role: "assistant", content: "ok", reasoning_content: "y".repeat(4000) };
    expect(profileChatBody({ messages: [thought] }).inputTokens).toBeGreaterThan(1000);
  });

  it("tells structured outputs from JSON mode", () => {
    const messages = [{ role: "user", content: "x" }];
    const schema = profileChatBody({ messages, response_format: { type: "json_schema", json_schema: {} } });
    const object = profileChatBody({ messages, response_format: { type: "json_object" } });
    expect(schema.needs).toMatchObject({ jsonSchema: true, jsonObject: false });
    expect(object.needs).toMatchObject({ jsonSchema: false, jsonObject: true });
  });

  it("does not count a base64 payload of an unknown part as text", () => {
    const audio = { type: "input_audio", input_audio: { data: "UklGR".repeat(100_000), format: "wav" } };
    const profile = profileChatBody({ messages: [{ role: "user", content: [audio] }] });
    expect(profile.inputTokens).toBeLessThan(5_000);
  });
});

describe("requestedOutput", () => {
  it("reads max_completion_tokens before max_tokens, as the engines do", () => {
    expect(requestedOutput({ max_completion_tokens: 100, max_tokens: 5000 })).toBe(100);
    expect(requestedOutput({ max_tokens: 5000 })).toBe(5000);
    expect(requestedOutput({ max_tokens: 0 })).toBeNull();
    expect(requestedOutput({ max_tokens: "9" })).toBeNull();
    expect(requestedOutput({})).toBeNull();
  });
});

describe("profileCompletionBody", () => {
  it("estimates text prompts and counts token-id prompts exactly", () => {
    expect(profileCompletionBody({ prompt: "Once upon a time" }).inputTokens).toBe(
      estimateTextTokens("Once upon a time"),
    );
    expect(profileCompletionBody({ prompt: [1, 2, 3] }).inputTokens).toBe(3);
    expect(profileCompletionBody({ prompt: [[1, 2], [3]] }).inputTokens).toBe(3);
    expect(profileCompletionBody({ prompt: "x", max_tokens: 7 }).requestedOutputTokens).toBe(7);
  });
});
