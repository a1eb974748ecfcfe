// The Responses stream translation (docs/contract.md §20) over recorded upstream chat streams, fed at every
// byte split the way the relay feeds it: the protocol rules Codex and the openai SDK hold a stream to (created
// first, dense indexes, every added item done, matching ids, one terminal event, increasing sequence numbers),
// checked by the openai SDK's own accumulator; then what each answer becomes (text, reasoning, tool calls under
// the client's names, usage, cut-off and failed answers) and the whole-answer translation.
import { accumulateResponse } from "openai/lib/responses/ResponseAccumulator";
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
import { parseFrames } from "../../../test/support/sse-frames.ts";
import { concat, createSseReader } from "../../core/event-stream.ts";
import { framedStream } from "../framed-stream.ts";
import { createResponsesMachine, type ResponsesAnswerOptions, translateResponse } from "./answer.ts";
import type { RequestEcho } from "./request.ts";
import { ToolNames } from "./tool-names.ts";

type Json = Record<string, unknown>;

const ECHO: RequestEcho = {
  instructions: null,
  max_output_tokens: null,
  temperature: null,
  top_p: null,
  parallel_tool_calls: true,
  tool_choice: "auto",
  tools: [],
  text: { format: { type: "text" } },
  reasoning: { effort: null, summary: null },
  metadata: {},
};

function options(tools = new ToolNames()): ResponsesAnswerOptions {
  return {
    responseId: "resp_test",
    model: "chutesai/AutoPilot",
    createdAt: 1_700_000_000,
    inputTokensEstimate: 40,
    tools,
    echo: ECHO,
  };
}

const FIXTURES: Record<string, string> = {
  text: TEXT,
  "tool name and args in one chunk": TOOL_NAME_AND_ARGS,
  "two tools in one chunk": TWO_TOOLS,
  "content and finish in one chunk": CONTENT_AND_FINISH,
  "usage after finish": USAGE_AFTER_FINISH,
  reasoning_content: REASONING_CONTENT,
  "reasoning (vLLM's renamed field)": REASONING_RENAMED,
  "Kimi tool id": KIMI_TOOL_ID,
  "finish stop with tool calls": STOP_WITH_TOOL_CALLS,
  "comments and non-JSON lines": COMMENTS_AND_NON_JSON,
  "an in-band error event": ERROR_EVENT,
  "UTF-8 text": UTF8_TEXT,
};

const encode = (text: string) => new TextEncoder().encode(text);

/** Responses SSE output as events: event names are dotted words (`response.output_text.delta`). */
const parseEvents = (output: Uint8Array): Json[] =>
  parseFrames(output, /^[a-z_]+(\.[a-z_]+)*$/).map((frame) => frame.data);

/** The translation fed as the relay feeds it: the upstream's bytes cut at `splits`, then its clean end. */
function run(body: string, splits: readonly number[] = [], tools?: ToolNames): Json[] {
  const stream = framedStream((emit) => createResponsesMachine(options(tools), emit));
  const reader = createSseReader();
  const bytes = encode(body);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const at of [...splits, bytes.length]) {
    out.push(stream.push(reader.push(bytes.slice(from, at))));
    from = at;
  }
  const rest = reader.end();
  out.push(stream.push(rest ? [rest] : []), stream.finish());
  return parseEvents(concat(out));
}

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** The rules the clients hold a stream to, and the openai SDK's snapshot of it. */
function checkProtocol(events: readonly Json[]): Json {
  expect(events[0]?.type).toBe("response.created");
  expect(events[1]?.type).toBe("response.in_progress");
  expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
  const terminal = events.filter((event) => TERMINAL.has(event.type as string));
  expect(terminal).toHaveLength(1);
  expect(events.at(-1)).toBe(terminal[0]);
  const failed = terminal[0]?.type === "response.failed";
  const added = new Map<number, string>();
  const done = new Set<number>();
  for (const event of events) {
    if (event.type === "response.output_item.added") {
      expect(event.output_index).toBe(added.size);
      added.set(event.output_index as number, (event.item as Json).id as string);
    } else if (event.type === "response.output_item.done") {
      expect(added.get(event.output_index as number)).toBe((event.item as Json).id);
      done.add(event.output_index as number);
    } else if ("item_id" in event) {
      expect(added.get(event.output_index as number)).toBe(event.item_id);
      expect(done.has(event.output_index as number)).toBe(false);
    }
  }
  // Every item is done, except those a failed or cut-off answer left incomplete.
  const final = (terminal[0] as Json).response as Json;
  const whole = (final.output as Json[]).filter((item) => item.status !== "incomplete");
  if (!failed) expect(done.size).toBe(whole.length);
  // The SDK's accumulator throws on any event out of order, any id that does not match, any duplicate call id.
  let snapshot: unknown;
  for (const event of events.filter((event) => event.type !== "error"))
    snapshot = accumulateResponse(event as never, snapshot as never);
  expect((snapshot as Json).output).toEqual(final.output);
  return final;
}

describe("the Responses stream over recorded upstream streams", () => {
  for (const [name, body] of Object.entries(FIXTURES)) {
    it(`${name}: follows the protocol, and is the same at every byte split`, () => {
      const whole = run(body);
      checkProtocol(whole);
      const length = encode(body).length;
      for (let at = 1; at < length; at++) expect(run(body, [at])).toEqual(whole);
      expect(
        run(
          body,
          Array.from({ length: length - 1 }, (_, index) => index + 1),
        ),
      ).toEqual(whole);
    });
  }
});

const outputOf = (body: string, tools?: ToolNames) => checkProtocol(run(body, [], tools));

describe("what an answer becomes", () => {
  it("text is one assistant message, and the usage is OpenAI's (input includes cached tokens)", () => {
    const response = outputOf(KIMI_TOOL_ID.replace(/"content":""/, '"content":"Looking."'));
    expect(response.status).toBe("completed");
    const usage = response.usage as Json;
    expect(usage.input_tokens).toBe(200);
    expect(usage.output_tokens).toBe(12);
    expect(usage.total_tokens).toBe(212);
    expect((usage.input_tokens_details as Json).cached_tokens).toBeGreaterThan(0);
    const [message] = response.output as Json[];
    expect(message).toMatchObject({ type: "message", role: "assistant", status: "completed" });
    expect(message?.content).toEqual([{ type: "output_text", text: "Looking.", annotations: [] }]);
  });

  it("reasoning is a reasoning item with its summary, before the message", () => {
    for (const body of [REASONING_CONTENT, REASONING_RENAMED]) {
      const events = run(body);
      const [reasoning, message] = checkProtocol(events).output as Json[];
      expect(reasoning).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text" }] });
      expect(reasoning?.summary).toEqual([{ type: "summary_text", text: expect.stringMatching(/./) }]);
      expect(message?.type).toBe("message");
      // Codex reads the summary's deltas only after their part was announced with a summary_index.
      const partAdded = events.findIndex((event) => event.type === "response.reasoning_summary_part.added");
      const firstDelta = events.findIndex((event) => event.type === "response.reasoning_summary_text.delta");
      expect(partAdded).toBeGreaterThan(0);
      expect(firstDelta).toBeGreaterThan(partAdded);
      expect(events[firstDelta]?.summary_index).toBe(0);
    }
  });

  it("a tool call keeps the upstream's call id (Kimi's) and ends with its arguments done, then the item", () => {
    const events = run(KIMI_TOOL_ID);
    const [call] = checkProtocol(events).output as Json[];
    expect(call).toMatchObject({
      type: "function_call",
      call_id: "functions.Bash:0",
      name: "Bash",
      arguments: '{"command":"ls -la"}',
      status: "completed",
    });
    const argsDone = events.findIndex((event) => event.type === "response.function_call_arguments.done");
    expect(events[argsDone + 1]).toMatchObject({
      type: "response.output_item.done",
      item: { call_id: "functions.Bash:0" },
    });
  });

  it("two calls are two items with their own call ids and arguments", () => {
    const calls = outputOf(TWO_TOOLS).output as Json[];
    expect(calls.map((call) => call.type)).toEqual(["function_call", "function_call"]);
    expect(new Set(calls.map((call) => call.call_id)).size).toBe(2);
    for (const call of calls) expect(() => JSON.parse(call.arguments as string)).not.toThrow();
  });

  it("a call after text closes the message first; a finish of stop with calls still completes", () => {
    const response = outputOf(STOP_WITH_TOOL_CALLS);
    expect(response.status).toBe("completed");
    expect((response.output as Json[]).map((item) => item.type)).toEqual(["message", "function_call"]);
  });

  it("an in-band upstream error ends in error then response.failed, with no done for the open message", () => {
    const events = run(ERROR_EVENT);
    const final = checkProtocol(events);
    expect(events.at(-2)).toMatchObject({ type: "error", code: "server_error", param: null });
    expect(final).toMatchObject({ status: "failed", error: { code: "server_error" } });
    expect(events.some((event) => event.type === "response.output_item.done")).toBe(false);
    expect((final.output as Json[])[0]?.status).toBe("incomplete");
    expect(JSON.stringify(events)).not.toContain("ignored");
  });
});

/** Upstream SSE for `deltas` then a finish chunk and [DONE]. */
function sse(deltas: readonly Json[], finish: string): string {
  const chunk = (choice: Json) => `data: ${JSON.stringify({ choices: [{ index: 0, ...choice }] })}\n\n`;
  return `${deltas.map((delta) => chunk({ delta })).join("")}${chunk({ delta: {}, finish_reason: finish })}data: [DONE]\n\n`;
}
const call = (fields: Json) => ({ tool_calls: [{ index: 0, ...fields }] });

function codexTools(): ToolNames {
  const tools = new ToolNames();
  tools.add({ name: "exec_command", namespace: null, custom: false });
  tools.add({ name: "spawn_agent", namespace: "multi_agent_v1", custom: false });
  tools.add({ name: "apply_patch", namespace: null, custom: true });
  return tools;
}

describe("tool calls under the client's names", () => {
  it("a namespace child's call comes back with its own name and namespace", () => {
    const body = sse(
      [call({ id: "c1", function: { name: "multi_agent_v1__spawn_agent", arguments: "{}" } })],
      "tool_calls",
    );
    const [item] = outputOf(body, codexTools()).output as Json[];
    expect(item).toMatchObject({ type: "function_call", name: "spawn_agent", namespace: "multi_agent_v1" });
  });

  it("a model that drops the namespace prefix still reaches the only child of that name", () => {
    const body = sse([call({ id: "c1", function: { name: "spawn_agent", arguments: "{}" } })], "tool_calls");
    const [item] = outputOf(body, codexTools()).output as Json[];
    expect(item).toMatchObject({ name: "spawn_agent", namespace: "multi_agent_v1" });
  });

  it("a custom tool's call is a custom_tool_call holding the input text", () => {
    const args = JSON.stringify({ input: "*** Begin Patch\n*** End Patch" });
    const events = run(
      sse([call({ id: "c1", function: { name: "apply_patch", arguments: args } })], "tool_calls"),
      [],
      codexTools(),
    );
    const [item] = checkProtocol(events).output as Json[];
    expect(item).toMatchObject({
      type: "custom_tool_call",
      call_id: "c1",
      name: "apply_patch",
      input: "*** Begin Patch\n*** End Patch",
    });
    expect(item?.id).toMatch(/^ctc_/);
    expect(events.find((event) => event.type === "response.custom_tool_call_input.done")?.input).toBe(
      item?.input,
    );
  });

  it("arguments before the name wait for it, so the call is announced under its name", () => {
    const body = sse(
      [
        call({ id: "c1", function: { arguments: '{"cmd":' } }),
        call({ function: { name: "exec_command", arguments: '"ls"}' } }),
      ],
      "tool_calls",
    );
    const events = run(body, [], codexTools());
    const [item] = checkProtocol(events).output as Json[];
    expect(events.find((event) => event.type === "response.output_item.added")?.item).toMatchObject({
      name: "exec_command",
    });
    expect(item).toMatchObject({ name: "exec_command", arguments: '{"cmd":"ls"}' });
  });

  it("a new id at a reused index is a new call, and a repeated upstream id still gets its own call id", () => {
    const body = sse(
      [
        call({ id: "same", function: { name: "exec_command", arguments: "{}" } }),
        call({ id: "other", function: { name: "exec_command", arguments: "{}" } }),
        { tool_calls: [{ index: 1, id: "same", function: { name: "exec_command", arguments: "{}" } }] },
      ],
      "tool_calls",
    );
    const items = outputOf(body, codexTools()).output as Json[];
    expect(items).toHaveLength(3);
    expect(new Set(items.map((item) => item.call_id)).size).toBe(3);
  });
});

describe("how an answer ends", () => {
  it("finish length is response.incomplete for max_output_tokens", () => {
    const response = outputOf(sse([{ content: "Once upon" }], "length"));
    expect(response).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
    });
  });

  it("content_filter is response.incomplete for content_filter", () => {
    expect(outputOf(sse([{ content: "No" }], "content_filter"))).toMatchObject({
      incomplete_details: { reason: "content_filter" },
    });
  });

  it("a call whose arguments were cut off is never done, so Codex cannot run it", () => {
    const events = run(
      sse([call({ id: "c1", function: { name: "exec_command", arguments: '{"cmd":"rm -' } })], "stop"),
    );
    const response = checkProtocol(events);
    expect(response.status).toBe("incomplete");
    expect(events.some((event) => event.type === "response.output_item.done")).toBe(false);
    expect((response.output as Json[])[0]?.status).toBe("incomplete");
  });

  it("whitespace after the calls makes no message; whitespace before text stays in it", () => {
    const afterCalls = sse(
      [call({ id: "c1", function: { name: "exec_command", arguments: "{}" } }), { content: "\n\n" }],
      "tool_calls",
    );
    expect((outputOf(afterCalls).output as Json[]).map((item) => item.type)).toEqual(["function_call"]);
    const [message] = outputOf(sse([{ content: "\n" }, { content: "Hi" }], "stop")).output as Json[];
    expect(message?.content).toEqual([{ type: "output_text", text: "\nHi", annotations: [] }]);
  });

  it("without upstream usage, the input is the estimate and the output is counted from the text", () => {
    const usage = outputOf(sse([{ content: "abcdefgh" }], "stop")).usage as Json;
    expect(usage).toMatchObject({ input_tokens: 40, output_tokens: 2, total_tokens: 42 });
  });

  it("a stream that breaks after commit fails the same way as an in-band error", () => {
    const stream = framedStream((emit) => createResponsesMachine(options(), emit));
    const reader = createSseReader();
    const first = stream.push(
      reader.push(
        encode(sse([{ content: "Half" }], "stop").split('data: {"choices":[{"index":0,"delta":{}')[0] ?? ""),
      ),
    );
    const events = parseEvents(concat([first, stream.fail("The upstream stream broke")]));
    const final = checkProtocol(events);
    expect(final).toMatchObject({
      status: "failed",
      error: { code: "server_error", message: "The upstream stream broke" },
    });
  });
});

describe("a whole answer", () => {
  it("is the response object the stream would end with", () => {
    const completion = {
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            reasoning_content: "Think.",
            content: "Done.",
            tool_calls: [
              {
                id: "c1",
                type: "function",
                function: { name: "multi_agent_v1__spawn_agent", arguments: "{}" },
              },
            ],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 },
    };
    const response = translateResponse(completion, options(codexTools())) as Json;
    expect(response).toMatchObject({
      object: "response",
      id: "resp_test",
      status: "completed",
      model: "chutesai/AutoPilot",
    });
    expect((response.output as Json[]).map((item) => item.type)).toEqual([
      "reasoning",
      "message",
      "function_call",
    ]);
    expect((response.output as Json[])[2]).toMatchObject({
      name: "spawn_agent",
      namespace: "multi_agent_v1",
      call_id: "c1",
    });
    expect(response.usage).toMatchObject({ input_tokens: 10, output_tokens: 4, total_tokens: 14 });
  });

  it("is null for a body that is not a chat completion", () => {
    expect(translateResponse({ detail: "nope" }, options())).toBeNull();
    expect(translateResponse(null, options())).toBeNull();
  });
});
