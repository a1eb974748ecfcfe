import fc from "fast-check";
import { describe, expect, it } from "vitest";
import COMMENTS_AND_NON_JSON from "../../../fixtures/anthropic/openai-comments-and-non-json.sse?raw";
import CONTENT_AND_FINISH from "../../../fixtures/anthropic/openai-content-and-finish-one-chunk.sse?raw";
import ERROR_EVENT from "../../../fixtures/anthropic/openai-error-event.sse?raw";
import KIMI_TOOL_ID from "../../../fixtures/anthropic/openai-kimi-tool-id.sse?raw";
import REASONING_CONTENT from "../../../fixtures/anthropic/openai-reasoning-content.sse?raw";
import REASONING_RENAMED from "../../../fixtures/anthropic/openai-reasoning-vllm-renamed.sse?raw";
import STOP_WITH_TOOL_CALLS from "../../../fixtures/anthropic/openai-stop-with-tool-calls.sse?raw";
import TEXT from "../../../fixtures/anthropic/openai-text.sse?raw";
import TOOL_NAME_AND_ARGS from "../../../fixtures/anthropic/openai-tool-name-and-args-one-chunk.sse?raw";
import TWO_TOOLS from "../../../fixtures/anthropic/openai-two-tools-one-chunk.sse?raw";
import USAGE_AFTER_FINISH from "../../../fixtures/anthropic/openai-usage-after-finish.sse?raw";
import UTF8_TEXT from "../../../fixtures/anthropic/openai-utf8-text.sse?raw";
import { type Frame, parseFrames } from "../../../test/support/sse-frames.ts";
import { concat, createSseReader } from "../../core/event-stream.ts";
import { type AnthropicStreamOptions, createAnthropicStream } from "./stream.ts";
import { decodeToolId, encodeToolId } from "./tool-ids.ts";

const OPTIONS: AnthropicStreamOptions = {
  model: "claude-sonnet-4-5",
  messageId: "msg_test",
  inputTokensEstimate: 50,
  stopSequences: ["###", "END"],
};

const FIXTURES: Record<string, string> = {
  "openai-text": TEXT,
  "openai-tool-name-and-args-one-chunk": TOOL_NAME_AND_ARGS,
  "openai-two-tools-one-chunk": TWO_TOOLS,
  "openai-content-and-finish-one-chunk": CONTENT_AND_FINISH,
  "openai-usage-after-finish": USAGE_AFTER_FINISH,
  "openai-reasoning-content": REASONING_CONTENT,
  "openai-reasoning-vllm-renamed": REASONING_RENAMED,
  "openai-kimi-tool-id": KIMI_TOOL_ID,
  "openai-stop-with-tool-calls": STOP_WITH_TOOL_CALLS,
  "openai-comments-and-non-json": COMMENTS_AND_NON_JSON,
  "openai-error-event": ERROR_EVENT,
  "openai-utf8-text": UTF8_TEXT,
};

const encode = (text: string) => new TextEncoder().encode(text);

/** Anthropic SSE output as frames: event names are snake_case words. */
const parseAnthropic = (output: Uint8Array): Frame[] => parseFrames(output, /^[a-z_]+$/);

/**
 * The re-framer fed the way the relay feeds it: upstream bytes through the one SSE reader, the events it
 * completes handed over, an unterminated last event at the end.
 */
function fromBytes(options: AnthropicStreamOptions) {
  const stream = createAnthropicStream(options);
  const reader = createSseReader();
  return {
    push: (bytes: Uint8Array) => stream.push(reader.push(bytes)),
    finish: () => {
      const rest = reader.end();
      return concat([stream.push(rest ? [rest] : []), stream.finish()]);
    },
    fail: (message: string, overloaded?: boolean) => stream.fail(message, overloaded),
    erred: () => stream.erred(),
  };
}

/** Feeds the upstream split at `splits` (byte offsets), then finishes; returns every frame sent. */
function run(upstream: string | Uint8Array, splits: number[] = [], options = OPTIONS): Frame[] {
  const bytes = typeof upstream === "string" ? encode(upstream) : upstream;
  const stream = fromBytes(options);
  const cuts = [0, ...[...splits].sort((a, b) => a - b), bytes.byteLength];
  const parts = cuts.slice(1).map((cut, i) => stream.push(bytes.subarray(cuts[i], cut)));
  return parseAnthropic(concat([...parts, stream.finish()]));
}

/** The stream rules every output keeps, whatever the upstream sent. */
function expectWellFormed(frames: Frame[]): void {
  expect(frames.filter((frame) => frame.event === "message_start")).toHaveLength(1);
  expect(frames[0]?.event).toBe("message_start");
  expect(["message_stop", "error"]).toContain(frames.at(-1)?.event);
  let open: number | null = null;
  let next = 0;
  for (const [position, { event, data }] of frames.entries()) {
    if (event === "content_block_start") {
      expect(open).toBeNull();
      expect(data.index).toBe(next);
      open = next++;
    } else if (event === "content_block_delta") {
      expect(data.index).toBe(open);
    } else if (event === "content_block_stop") {
      expect(data.index).toBe(open);
      open = null;
    } else if (event === "message_delta") {
      expect(open).toBeNull();
      expect(frames[position + 1]?.event).toBe("message_stop");
    } else if (event === "error") {
      expect(open).toBeNull();
      expect(position).toBe(frames.length - 1);
    }
  }
}

const MESSAGE_START: Frame = {
  event: "message_start",
  data: {
    type: "message_start",
    message: {
      id: "msg_test",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 50, output_tokens: 0 },
    },
  },
};
const frame = (event: string, fields: Record<string, unknown> = {}): Frame => ({
  event,
  data: { type: event, ...fields },
});
const blockStart = (index: number, content_block: Record<string, unknown>) =>
  frame("content_block_start", { index, content_block });
const textStart = (index: number) => blockStart(index, { type: "text", text: "" });
const thinkingStart = (index: number) => blockStart(index, { type: "thinking", thinking: "", signature: "" });
const toolStart = (index: number, id: string, name: string) =>
  blockStart(index, { type: "tool_use", id, name, input: {} });
const textDelta = (index: number, text: string) =>
  frame("content_block_delta", { index, delta: { type: "text_delta", text } });
const thinkingDelta = (index: number, thinking: string) =>
  frame("content_block_delta", { index, delta: { type: "thinking_delta", thinking } });
const jsonDelta = (index: number, partial_json: string) =>
  frame("content_block_delta", { index, delta: { type: "input_json_delta", partial_json } });
const blockStop = (index: number) => frame("content_block_stop", { index });
const ending = (
  stop_reason: string,
  usage: { input: number; output: number; cached?: number },
  stop_sequence: string | null = null,
): Frame[] => [
  frame("message_delta", {
    delta: { stop_reason, stop_sequence },
    usage: {
      input_tokens: usage.input,
      output_tokens: usage.output,
      cache_read_input_tokens: usage.cached ?? 0,
    },
  }),
  frame("message_stop"),
];

/** One upstream SSE event holding a chat-completion chunk with a single choice. */
const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: null, ...choice }], ...extra })}\n\n`;
const usageChunk = (prompt_tokens: number, completion_tokens: number) =>
  `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens, completion_tokens } })}\n\n`;
const DONE = "data: [DONE]\n\n";

/** The upstream cut into its SSE events, as a real network would often deliver it. */
const events = (upstream: string) => upstream.split(/(?<=\n\n)/);

describe("createAnthropicStream: golden fixtures", () => {
  it("turns a plain text answer into one text block with the upstream usage", () => {
    expect(run(TEXT)).toEqual([
      MESSAGE_START,
      textStart(0),
      textDelta(0, "Hello"),
      textDelta(0, ", world"),
      blockStop(0),
      ...ending("end_turn", { input: 4, output: 3, cached: 16 }),
    ]);
  });

  it("opens a tool_use block and streams its arguments when name and arguments share a chunk", () => {
    expect(run(TOOL_NAME_AND_ARGS)).toEqual([
      MESSAGE_START,
      toolStart(0, "call_wx1", "get_weather"),
      jsonDelta(0, '{"city": '),
      jsonDelta(0, '"Paris"}'),
      blockStop(0),
      ...ending("tool_use", { input: 85, output: 18 }),
    ]);
  });

  it("gives each of several tool calls in one chunk its own block, and routes later arguments by index", () => {
    expect(run(TWO_TOOLS)).toEqual([
      MESSAGE_START,
      toolStart(0, "call_p", "get_weather"),
      jsonDelta(0, '{"city":"Paris"}'),
      blockStop(0),
      toolStart(1, "call_r", "get_weather"),
      jsonDelta(1, '{"city":'),
      jsonDelta(1, '"Rome"}'),
      blockStop(1),
      ...ending("tool_use", { input: 90, output: 30 }),
    ]);
  });

  it("keeps the content that arrives in the same chunk as the finish_reason", () => {
    expect(run(CONTENT_AND_FINISH)).toEqual([
      MESSAGE_START,
      textStart(0),
      textDelta(0, "Done."),
      blockStop(0),
      ...ending("end_turn", { input: 12, output: 2 }),
    ]);
  });

  it("reports length as max_tokens with the usage chunk that comes after the finish_reason", () => {
    expect(run(USAGE_AFTER_FINISH)).toEqual([
      MESSAGE_START,
      textStart(0),
      textDelta(0, "The answer is"),
      textDelta(0, " cut"),
      blockStop(0),
      ...ending("max_tokens", { input: 40, output: 2, cached: 0 }),
    ]);
  });

  it.each([
    ["reasoning_content", REASONING_CONTENT, ["2 and 2", " make 4."], "It is 4.", { input: 15, output: 9 }],
    [
      "reasoning (vLLM's new name)",
      REASONING_RENAMED,
      ["User greets.", " Reply."],
      "Hi!",
      { input: 30, output: 7 },
    ],
  ])(
    "puts %s into a thinking block with a signature, before the text block",
    (_, upstream, thoughts, text, usage) => {
      expect(run(upstream)).toEqual([
        MESSAGE_START,
        thinkingStart(0),
        ...thoughts.map((thought) => thinkingDelta(0, thought)),
        blockStop(0),
        textStart(1),
        textDelta(1, text),
        blockStop(1),
        ...ending("end_turn", usage),
      ]);
    },
  );

  it("encodes Kimi's functions.Bash:0 tool id into Anthropic's alphabet, reversibly", () => {
    const frames = run(KIMI_TOOL_ID);
    const id = encodeToolId("functions.Bash:0");
    expect(id).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(decodeToolId(id)).toBe("functions.Bash:0");
    expect(frames).toEqual([
      MESSAGE_START,
      toolStart(0, id, "Bash"),
      jsonDelta(0, '{"command":'),
      jsonDelta(0, '"ls -la"}'),
      blockStop(0),
      ...ending("tool_use", { input: 72, output: 12, cached: 128 }),
    ]);
  });

  it("closes the text block before a tool call in the same choice, and says tool_use even after a plain stop", () => {
    expect(run(STOP_WITH_TOOL_CALLS)).toEqual([
      MESSAGE_START,
      textStart(0),
      textDelta(0, "Let me look."),
      blockStop(0),
      toolStart(1, "chatcmpl-tool-4c1d", "Read"),
      jsonDelta(1, '{"path":"README.md"}'),
      blockStop(1),
      ...ending("tool_use", { input: 300, output: 20 }),
    ]);
  });

  it("ignores SSE comments, blank lines, other fields and data lines that are not JSON", () => {
    // No usage chunk: the estimate stands for input, and "ok" is ceil(2 / 4) = 1 output token.
    expect(run(COMMENTS_AND_NON_JSON)).toEqual([
      MESSAGE_START,
      textStart(0),
      textDelta(0, "ok"),
      blockStop(0),
      ...ending("end_turn", { input: 50, output: 1 }),
    ]);
  });

  it("ends on an upstream data error event like fail() would, and ignores everything after it", () => {
    const stream = fromBytes(OPTIONS);
    const frames = parseAnthropic(stream.push(encode(ERROR_EVENT)));
    expect(frames).toEqual([
      MESSAGE_START,
      textStart(0),
      textDelta(0, "Partial"),
      blockStop(0),
      frame("error", { error: { type: "api_error", message: "Unhandled exception during response stream" } }),
    ]);
    expect(stream.push(encode(chunk({ delta: { content: "more" } })))).toHaveLength(0);
    expect(stream.finish()).toHaveLength(0);
    expect(stream.erred()).toBe(true);
  });

  it("keeps multi-byte characters intact", () => {
    const frames = run(UTF8_TEXT);
    expect(frames).toContainEqual(thinkingDelta(0, "Je réfléchis… 🤔"));
    expect(frames).toContainEqual(textDelta(1, "héllo 🌍"));
    expect(frames).toContainEqual(textDelta(1, " — ünïcödé ✓"));
  });

  it.each(Object.entries(FIXTURES))("keeps the stream rules for %s", (_, upstream) => {
    expectWellFormed(run(upstream));
  });
});

describe("createAnthropicStream: timing", () => {
  it("sends message_start on the first chunk that parses, not on comments or a partial line", () => {
    const stream = fromBytes(OPTIONS);
    expect(stream.push(encode(": keep-alive\n\n"))).toHaveLength(0);
    const role = chunk({ delta: { role: "assistant", content: "" } });
    expect(stream.push(encode(role.slice(0, 20)))).toHaveLength(0);
    expect(parseAnthropic(stream.push(encode(role.slice(20))))).toEqual([MESSAGE_START]);
    expect(parseAnthropic(stream.push(encode(role)))).toEqual([]);
  });

  it("holds message_delta until the usage chunk that follows the finish_reason", () => {
    const stream = fromBytes(OPTIONS);
    const sent = events(USAGE_AFTER_FINISH).map((event) => parseAnthropic(stream.push(encode(event))));
    expect(sent.map((frames) => frames.map((f) => f.event))).toEqual([
      ["message_start", "content_block_start", "content_block_delta"],
      ["content_block_delta"],
      [],
      ["content_block_stop", "message_delta", "message_stop"],
      [],
    ]);
    expect(stream.finish()).toHaveLength(0);
  });

  it("waits past a finish chunk that carries usage itself, then ends at [DONE] with that usage", () => {
    const stream = fromBytes(OPTIONS);
    const finishWithUsage = chunk(
      { delta: { content: "x" }, finish_reason: "stop" },
      { usage: { prompt_tokens: 7, completion_tokens: 1 } },
    );
    expect(parseAnthropic(stream.push(encode(finishWithUsage))).map((f) => f.event)).not.toContain(
      "message_delta",
    );
    expect(parseAnthropic(stream.push(encode(DONE))).slice(-2)).toEqual(
      ending("end_turn", { input: 7, output: 1 }),
    );
    expect(stream.finish()).toHaveLength(0);
  });

  it("ends at [DONE] when no usage chunk comes, and at finish() when no [DONE] comes either", () => {
    const upstream = chunk({ delta: { content: "Hi" } }) + chunk({ finish_reason: "stop" });
    const atDone = fromBytes(OPTIONS);
    atDone.push(encode(upstream));
    expect(parseAnthropic(atDone.push(encode(DONE))).map((f) => f.event)).toEqual([
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const atFinish = fromBytes(OPTIONS);
    atFinish.push(encode(upstream));
    expect(parseAnthropic(atFinish.finish()).map((f) => f.event)).toEqual([
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
  });

  it("reads a last line that has no newline when the upstream ends", () => {
    const upstream = chunk({ delta: { content: "Hi" } }) + chunk({ finish_reason: "length" }).trimEnd();
    expect(run(upstream).at(-2)?.data.delta).toEqual({ stop_reason: "max_tokens", stop_sequence: null });
  });

  it("returns nothing once finished", () => {
    const stream = fromBytes(OPTIONS);
    stream.push(encode(TEXT));
    expect(stream.finish()).toHaveLength(0);
    expect(stream.push(encode(TEXT))).toHaveLength(0);
    expect(stream.fail("late")).toHaveLength(0);
  });
});

describe("createAnthropicStream: content blocks", () => {
  it("opens no block for empty or role-only deltas", () => {
    const upstream =
      chunk({ delta: { role: "assistant", content: "" } }) +
      chunk({ delta: { content: null, reasoning_content: "" } }) +
      chunk({ delta: { tool_calls: [] }, finish_reason: "stop" }) +
      DONE;
    expect(run(upstream)).toEqual([MESSAGE_START, ...ending("end_turn", { input: 50, output: 0 })]);
  });

  it("sends message_start, message_delta and message_stop when the upstream sent nothing at all", () => {
    expect(run("")).toEqual([MESSAGE_START, ...ending("end_turn", { input: 50, output: 0 })]);
  });

  it("starts a new block when a tool call reuses an index with a new id", () => {
    const call = (id: string, args: string) => ({
      delta: { tool_calls: [{ index: 0, id, type: "function", function: { name: "f", arguments: args } }] },
    });
    const frames = run(chunk(call("a", "{}")) + chunk(call("b", '{"x":1}')) + DONE);
    expect(frames.filter((f) => f.event === "content_block_start")).toEqual([
      toolStart(0, "a", "f"),
      toolStart(1, "b", "f"),
    ]);
    expect(frames).toContainEqual(jsonDelta(1, '{"x":1}'));
  });

  it("counts output characters / 4, rounded up, when no usage ever came", () => {
    const upstream =
      chunk({ delta: { reasoning_content: "hmm" } }) +
      chunk({ delta: { content: "Hello" } }) +
      chunk({
        delta: { tool_calls: [{ index: 0, id: "c1", function: { name: "f", arguments: '{"a":1}' } }] },
      }) +
      chunk({ finish_reason: "tool_calls" });
    // 3 + 5 + 7 = 15 characters → 4 tokens.
    expect(run(upstream).slice(-2)).toEqual(ending("tool_use", { input: 50, output: 4 }));
  });
});

describe("createAnthropicStream: stop_reason", () => {
  const tool = { delta: { tool_calls: [{ index: 0, id: "c1", function: { name: "f", arguments: "{}" } }] } };
  const truncated = {
    delta: { tool_calls: [{ index: 0, id: "c1", function: { name: "f", arguments: '{"path":"a.t' } }] },
  };
  it.each([
    ["stop", [{ finish_reason: "stop" }], "end_turn", null],
    [
      "stop on a requested stop string",
      [{ finish_reason: "stop", stop_reason: "END" }],
      "stop_sequence",
      "END",
    ],
    ["stop on a string not requested", [{ finish_reason: "stop", stop_reason: "zzz" }], "end_turn", null],
    ["stop on a stop token id", [{ finish_reason: "stop", stop_reason: 151645 }], "end_turn", null],
    ["length", [{ finish_reason: "length" }], "max_tokens", null],
    ["tool_calls with a tool block", [tool, { finish_reason: "tool_calls" }], "tool_use", null],
    ["stop with a tool block", [tool, { finish_reason: "stop", stop_reason: "END" }], "tool_use", null],
    ["tool_calls with no tool block", [{ finish_reason: "tool_calls" }], "end_turn", null],
    // Cut off mid-arguments (vLLM can say plain stop): the client must not run a call it cannot parse.
    ["tool arguments that do not parse", [truncated, { finish_reason: "stop" }], "max_tokens", null],
    ["content_filter", [{ finish_reason: "content_filter" }], "end_turn", null],
    ["no finish_reason at all", [{ delta: { content: "x" } }], "end_turn", null],
  ])("%s → %s", (_, choices, stopReason, stopSequence) => {
    const upstream = choices.map((choice) => chunk(choice)).join("") + usageChunk(5, 1) + DONE;
    const frames = run(upstream);
    expect(frames.at(-2)?.data.delta).toEqual({ stop_reason: stopReason, stop_sequence: stopSequence });
    expectWellFormed(frames);
  });
});

describe("createAnthropicStream: failures", () => {
  it("closes the open block, then sends an api_error event and nothing more", () => {
    const stream = fromBytes(OPTIONS);
    stream.push(encode(events(TEXT).slice(0, 2).join("")));
    expect(parseAnthropic(stream.fail("The upstream stream failed"))).toEqual([
      blockStop(0),
      frame("error", { error: { type: "api_error", message: "The upstream stream failed" } }),
    ]);
    expect(stream.push(encode(TEXT))).toHaveLength(0);
    expect(stream.finish()).toHaveLength(0);
    expect(stream.fail("again")).toHaveLength(0);
  });

  it("uses overloaded_error when asked", () => {
    const stream = fromBytes(OPTIONS);
    stream.push(encode(chunk({ delta: { role: "assistant" } })));
    expect(parseAnthropic(stream.fail("stalled", true))).toEqual([
      frame("error", { error: { type: "overloaded_error", message: "stalled" } }),
    ]);
  });

  it("sends message_start first when it fails before anything parsed", () => {
    const frames = parseAnthropic(fromBytes(OPTIONS).fail("boom"));
    expect(frames).toEqual([
      MESSAGE_START,
      frame("error", { error: { type: "api_error", message: "boom" } }),
    ]);
    expectWellFormed(frames);
  });

  it("takes the message of an upstream error given as a plain string", () => {
    const frames = run([chunk({ delta: { content: "a" } }), 'data: {"error":"boom"}\n\n', DONE].join(""));
    expect(frames.at(-1)).toEqual(frame("error", { error: { type: "api_error", message: "boom" } }));
  });
});

describe("createAnthropicStream: chunking", () => {
  const upstreams = [...Object.values(FIXTURES), TEXT.replace(/\n/g, "\r\n"), UTF8_TEXT.replace(/\n/g, "\r")];

  it("gives the same events whatever the split, even inside a UTF-8 character or a CRLF", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...upstreams).chain((upstream) => {
          const size = encode(upstream).byteLength;
          return fc.tuple(fc.constant(upstream), fc.uniqueArray(fc.integer({ min: 1, max: size - 1 })));
        }),
        ([upstream, splits]) => {
          const frames = run(upstream, splits);
          expect(frames).toEqual(run(upstream));
          expectWellFormed(frames);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("gives the same events when fed one byte at a time", () => {
    const size = encode(UTF8_TEXT).byteLength;
    const everyByte = Array.from({ length: size - 1 }, (_, i) => i + 1);
    expect(run(UTF8_TEXT, everyByte)).toEqual(run(UTF8_TEXT));
  });
});
