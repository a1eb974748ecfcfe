import { describe, expect, it } from "vitest";
import { profileChatBody } from "../../core/request-profile.ts";
import { estimateTextTokens } from "../../core/token-estimate.ts";
import { countInputTokens } from "./count-tokens.ts";
import { translateRequest } from "./request.ts";

const TOOL = {
  name: "Bash",
  description: "Run a shell command",
  input_schema: { type: "object", properties: {} },
};
const DEFERRED = { ...TOOL, name: "WebFetch", defer_loading: true };
const MODEL = "claude-sonnet-4-6";

describe("countInputTokens", () => {
  it("counts exactly what the router sizes the routed request by", () => {
    const body = {
      model: MODEL,
      system: "You are a careful assistant.",
      tools: [TOOL],
      messages: [{ role: "user", content: "list the files in this folder" }],
    };
    const translated = translateRequest({ ...body, max_tokens: 1 });
    if (!translated.ok) throw new Error(translated.message);
    expect(countInputTokens(body)).toEqual({
      ok: true,
      tokens: profileChatBody(translated.chat).inputTokens,
    });
  });

  it("errs high on the text it counts", () => {
    const text = "Summarise the release notes and list every breaking change. ".repeat(40);
    const counted = countInputTokens({ model: MODEL, messages: [{ role: "user", content: text }] });
    expect(counted.ok ? counted.tokens : 0).toBeGreaterThanOrEqual(estimateTextTokens(text));
  });

  it("leaves out deferred tools no tool search has loaded, as the routed request does", () => {
    const messages = [{ role: "user", content: "hi" }];
    const plain = countInputTokens({ model: MODEL, messages, tools: [TOOL] });
    const deferred = countInputTokens({ model: MODEL, messages, tools: [TOOL, DEFERRED] });
    expect(deferred).toEqual(plain);
  });

  it("names the field of a body that is not a Messages request", () => {
    expect(countInputTokens({ model: MODEL, messages: "not a list" })).toEqual({
      ok: false,
      message: "messages: must be an array",
    });
  });
});
