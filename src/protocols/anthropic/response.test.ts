import { describe, expect, it } from "vitest";
import STOP_WITH_TOOL_CALLS from "../../../fixtures/anthropic/openai-stop-with-tool-calls.sse?raw";
import { createSseReader } from "../../core/event-stream.ts";
import { type AnthropicEvent, assembleMessage } from "./answer.ts";
import { translateRequest } from "./request.ts";
import { translateResponse } from "./response.ts";
import { createAnthropicStream } from "./stream.ts";

const CONTEXT = {
  model: "claude-sonnet-4-6",
  messageId: "msg_01test",
  stopSequences: ["###", "END"],
  inputTokensEstimate: 50,
};
const KIMI_ID = "functions.Bash:0";
const USAGE = { prompt_tokens: 120, completion_tokens: 30, prompt_tokens_details: { cached_tokens: 100 } };

function completion(message: Record<string, unknown>, choice: Record<string, unknown> = {}, extra = {}) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop", ...choice }],
    usage: USAGE,
    ...extra,
  };
}

function toolCall(id: string, name: string, args: string) {
  return { id, type: "function", function: { name, arguments: args } };
}

describe("translateResponse", () => {
  it("answers a plain text completion as an Anthropic message", () => {
    expect(translateResponse(completion({ content: "Hello." }), CONTEXT)).toEqual({
      id: "msg_01test",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-6",
      content: [{ type: "text", text: "Hello." }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 30, cache_read_input_tokens: 100 },
    });
  });

  it.each(["reasoning_content", "reasoning"])(
    "puts reasoning from %s first, as a signed thinking block",
    (field) => {
      const message = translateResponse(
        completion({ [field]: "Think.", content: "Done.", tool_calls: [toolCall("c1", "Bash", "{}")] }),
        CONTEXT,
      );
      expect(message?.content).toEqual([
        { type: "thinking", thinking: "Think.", signature: "" },
        { type: "text", text: "Done." },
        { type: "tool_use", id: "c1", name: "Bash", input: {} },
      ]);
    },
  );

  it.each([
    ["stop", {}, "end_turn", null],
    ["stop", { stop_reason: "END" }, "stop_sequence", "END"],
    ["stop", { stop_reason: "not requested" }, "end_turn", null],
    ["stop", { stop_reason: 151645 }, "end_turn", null],
    ["length", {}, "max_tokens", null],
    ["content_filter", {}, "end_turn", null],
    ["tool_calls", {}, "end_turn", null],
  ])("maps finish_reason %s (%j) without tool calls", (finishReason, extra, stopReason, sequence) => {
    const message = translateResponse(
      completion({ content: "x" }, { finish_reason: finishReason, ...extra }),
      CONTEXT,
    );
    expect(message).toMatchObject({ stop_reason: stopReason, stop_sequence: sequence });
  });

  it.each(["tool_calls", "stop"])(
    "answers tool_use whenever a tool call is present (finish_reason %s)",
    (finish) => {
      const calls = [toolCall("c1", "Read", '{"path":"a.txt"}'), toolCall("c2", "Bash", "")];
      const message = translateResponse(
        completion({ content: null, tool_calls: calls }, { finish_reason: finish }),
        CONTEXT,
      );
      expect(message).toMatchObject({
        stop_reason: "tool_use",
        content: [
          { type: "tool_use", id: "c1", name: "Read", input: { path: "a.txt" } },
          { type: "tool_use", id: "c2", name: "Bash", input: {} },
        ],
      });
    },
  );

  it("answers max_tokens with an empty input when tool arguments do not parse", () => {
    const calls = [toolCall("c1", "Write", '{"path":"a.txt","content":"unfinish')];
    const message = translateResponse(
      completion({ tool_calls: calls }, { finish_reason: "tool_calls" }),
      CONTEXT,
    );
    expect(message).toMatchObject({
      stop_reason: "max_tokens",
      content: [{ type: "tool_use", id: "c1", name: "Write", input: {} }],
    });
  });

  it("lets a Kimi tool id survive the round trip through the client", () => {
    const answer = translateResponse(
      completion({ tool_calls: [toolCall(KIMI_ID, "Bash", '{"cmd":"ls"}')] }),
      CONTEXT,
    );
    const content = answer?.content as { id: string }[] | undefined;
    const id = content?.[0]?.id;
    expect(id).toMatch(/^[a-zA-Z0-9_-]+$/);
    const next = translateRequest({
      model: "claude-sonnet-4-6",
      max_tokens: 100,
      messages: [
        { role: "user", content: "list" },
        { role: "assistant", content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: "a.txt" }] },
      ],
    });
    expect(next.ok && next.chat.messages).toEqual([
      { role: "user", content: "list" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: KIMI_ID, type: "function", function: { name: "Bash", arguments: '{"cmd":"ls"}' } },
        ],
      },
      { role: "tool", tool_call_id: KIMI_ID, content: "a.txt" },
    ]);
  });

  it.each([
    // As a stream without usage is: the request's estimate in, output characters / 4 out ("x" is 1).
    ["no usage at all", undefined, { input_tokens: 50, output_tokens: 1, cache_read_input_tokens: 0 }],
    [
      "usage without cache details",
      { prompt_tokens: 9, completion_tokens: 4 },
      { input_tokens: 9, output_tokens: 4, cache_read_input_tokens: 0 },
    ],
    [
      "usage with cached tokens",
      USAGE,
      { input_tokens: 20, output_tokens: 30, cache_read_input_tokens: 100 },
    ],
  ])("reports %s as Anthropic usage", (_, usage, expected) => {
    expect(translateResponse(completion({ content: "x" }, {}, { usage }), CONTEXT)?.usage).toEqual(expected);
  });

  it.each([
    ["an error body", { error: { message: "boom" } }],
    ["an empty choice list", { choices: [] }],
    ["a choice without a message", { choices: [{ text: "legacy completion" }] }],
    ["HTML", "<html>502</html>"],
  ])("returns null for %s", (_, body) => {
    expect(translateResponse(body, CONTEXT)).toBeNull();
  });
});

/** An upstream SSE stream through the streamed translation, its events assembled as a client would. */
function streamedMessage(sse: string): Record<string, unknown> | null {
  const stream = createAnthropicStream(CONTEXT);
  const reader = createSseReader();
  const text = new TextDecoder().decode(stream.push(reader.push(new TextEncoder().encode(sse))));
  const rest = new TextDecoder().decode(stream.finish());
  const events = `${text}${rest}`
    .split("\n\n")
    .filter((frame) => frame !== "")
    .map((frame) => JSON.parse(frame.split("\n")[1]?.slice("data: ".length) ?? "") as AnthropicEvent);
  return assembleMessage(events);
}

const sse = (chunks: unknown[]) => chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join("");
const delta = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  choices: [{ index: 0, delta: fields, ...extra }],
});

describe("the streamed and the whole translation agree", () => {
  it("on a captured forced tool call that ended with a plain stop", () => {
    const whole = completion(
      {
        content: "Let me look.",
        tool_calls: [toolCall("chatcmpl-tool-4c1d", "Read", '{"path":"README.md"}')],
      },
      { finish_reason: "stop", stop_reason: null },
      { usage: { prompt_tokens: 300, completion_tokens: 20 } },
    );
    const message = translateResponse(whole, CONTEXT);
    expect(message).toMatchObject({
      stop_reason: "tool_use",
      usage: { input_tokens: 300, output_tokens: 20 },
    });
    expect(streamedMessage(STOP_WITH_TOOL_CALLS)).toEqual(message);
  });

  it("on tool arguments cut off mid-string: max_tokens and an empty input, both ways", () => {
    const args = '{"path":"a.txt","content":"unfinish';
    const whole = translateResponse(completion({ tool_calls: [toolCall("c1", "Write", args)] }), CONTEXT);
    const streamed = streamedMessage(
      sse([
        delta({ tool_calls: [{ index: 0, id: "c1", function: { name: "Write", arguments: args } }] }),
        delta({}, { finish_reason: "stop" }),
        { choices: [], usage: USAGE },
      ]),
    );
    expect(whole).toMatchObject({ stop_reason: "max_tokens", content: [{ input: {} }] });
    expect(streamed).toEqual(whole);
  });

  it("on a missing usage: the request's estimate in, characters / 4 out, both ways", () => {
    const whole = translateResponse(
      completion({ content: "Hello, world" }, {}, { usage: undefined }),
      CONTEXT,
    );
    const streamed = streamedMessage(
      sse([delta({ content: "Hello, world" }), delta({}, { finish_reason: "stop" })]),
    );
    expect(whole?.usage).toEqual({ input_tokens: 50, output_tokens: 3, cache_read_input_tokens: 0 });
    expect(streamed).toEqual(whole);
  });
});
