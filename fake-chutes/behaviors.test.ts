// Self-test of every behaviour kind from a real client (fetch): what reaches the wire, when, and what the
// request log says afterwards. Delays are small (≤ 300 ms) so the whole file stays fast.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type FakeToolCall, type OverloadReason, parseBehavior } from "./behaviors.ts";
import type { RequestLogEntry } from "./request-log.ts";
import {
  postCompletion,
  postJson,
  raceTimeout,
  readEvents,
  readerOf,
  readUntilError,
  splitSse,
  useFakeChutes,
  waitFor,
} from "./test-helpers.ts";

const MODEL = "fake/flaky-model";
const NGINX_429_CAPTURE = join(
  import.meta.dirname,
  "..",
  "..",
  "shared",
  "chutes-live",
  "chat_completions_no_auth_429_2026-02-18.html",
);

const fake = useFakeChutes();

function lastEntry(): RequestLogEntry {
  const entry = fake().requests().at(-1);
  assert.ok(entry !== undefined, "no request logged");
  return entry;
}

function elapsedSince(started: number): number {
  return performance.now() - started;
}

async function detailOf(response: Response): Promise<string> {
  const body = (await response.json()) as { detail: string };
  return body.detail;
}

// Timing checks: a delay is a minimum, so a total measured from before the request is safe on any machine; a
// gap between two client-side observations is checked against half the delay, which still tells "headers at
// once" from "headers with the first byte" while tolerating a loaded test process.
describe("healthy", () => {
  it("streams the requested number of chunks at the requested interval after the first-byte delay", async () => {
    fake().setBehavior(MODEL, { kind: "healthy", chunks: 3, intervalMs: 50, firstByteDelayMs: 200 });
    const started = performance.now();
    const response = await postCompletion(fake().url, { model: MODEL, stream: true });
    const headersAt = performance.now();
    const reader = readerOf(response);
    const first = await readEvents(reader, 1);
    assert.ok(elapsedSince(headersAt) >= 100, "headers should come before the first-byte delay");
    const rest = await readEvents(reader, Number.POSITIVE_INFINITY);
    assert.ok(elapsedSince(started) >= 295, "first byte after 200 ms, then two more chunks 50 ms apart");
    assert.equal(first.length + rest.length, 3 + 2 + 1);
    assert.equal(rest.at(-1), "[DONE]");
    await waitFor(() => (lastEntry().completed ? true : undefined));
  });
});

// A parsed stream: the chunk objects before `[DONE]` (which is checked to be last).
// biome-ignore lint/suspicious/noExplicitAny: chunks are untyped JSON picked apart by the assertions.
type Chunk = any;

async function streamedChunks(body: Record<string, unknown>): Promise<Chunk[]> {
  const response = await postCompletion(fake().url, { model: MODEL, stream: true, ...body });
  assert.equal(response.status, 200);
  const events = splitSse(await response.text());
  assert.equal(events.pop(), "[DONE]");
  return events.map((event) => JSON.parse(event));
}

async function wholeChoice(body: Record<string, unknown> = {}): Promise<Chunk> {
  const response = await postCompletion(fake().url, { model: MODEL, ...body });
  assert.equal(response.status, 200);
  return (await response.json()).choices[0];
}

/** The deltas of the chunks that carry a choice, i.e. all but the usage chunk. */
function deltasOf(chunks: Chunk[]): Chunk[] {
  return chunks.filter((chunk) => chunk.choices.length > 0).map((chunk) => chunk.choices[0].delta);
}

const REASONING = "Let me think  about it.\nThen answer. ";

describe("healthy with reasoning", () => {
  it("streams reasoning_content word by word before the content, the role on the first chunk", async () => {
    fake().setBehavior(MODEL, { kind: "healthy", chunks: 2, reasoning: REASONING });
    const chunks = await streamedChunks({});
    const deltas = deltasOf(chunks);
    assert.deepEqual(deltas.slice(0, 6), [
      { role: "assistant", reasoning_content: "Let " },
      { reasoning_content: "me " },
      { reasoning_content: "think  " },
      { reasoning_content: "about " },
      { reasoning_content: "it.\n" },
      { reasoning_content: "Then " },
    ]);
    const reasoning = deltas.map((delta: Chunk) => delta.reasoning_content ?? "").join("");
    assert.equal(reasoning, REASONING);
    assert.deepEqual(deltas.slice(7), [{ content: "chunk 0 " }, { content: "chunk 1 " }, {}]);
    assert.equal(chunks.at(-2).choices[0].finish_reason, "stop");
    assert.ok(deltas.every((delta: Chunk) => !("reasoning" in delta)));
    // One extra completion token per reasoning word.
    assert.equal(chunks.at(-1).usage.completion_tokens, 2 * 2 + 7);
  });

  it('streams it as delta.reasoning under reasoningField "reasoning"', async () => {
    fake().setBehavior(MODEL, { kind: "healthy", chunks: 1, reasoning: "a b", reasoningField: "reasoning" });
    assert.deepEqual(deltasOf(await streamedChunks({})), [
      { role: "assistant", reasoning: "a " },
      { reasoning: "b" },
      { content: "chunk 0 " },
      {},
    ]);
  });

  it("puts it in message.reasoning_content or message.reasoning when not streamed", async () => {
    fake().setBehavior(MODEL, { kind: "healthy", chunks: 2, reasoning: REASONING });
    let choice = await wholeChoice();
    assert.deepEqual(choice.message, {
      role: "assistant",
      content: "chunk 0 chunk 1 ",
      reasoning_content: REASONING,
    });
    assert.equal(choice.finish_reason, "stop");
    fake().setBehavior(MODEL, {
      kind: "healthy",
      chunks: 2,
      reasoning: REASONING,
      reasoningField: "reasoning",
    });
    choice = await wholeChoice();
    assert.deepEqual(choice.message, {
      role: "assistant",
      content: "chunk 0 chunk 1 ",
      reasoning: REASONING,
    });
  });
});

const TOOL_CALLS: FakeToolCall[] = [
  { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' },
  { id: "toolu_custom", name: "lookup", arguments: '{"q":"naïve 🙂"}' },
  { name: "no_args", arguments: "{}" },
];

describe("healthy with tool calls", () => {
  it("streams each call as a header chunk then its arguments in 2–3 pieces, ending in tool_calls", async () => {
    fake().setBehavior(MODEL, { kind: "healthy", chunks: 0, toolCalls: TOOL_CALLS });
    const chunks = await streamedChunks({ stream_options: { include_usage: true } });
    const deltas = deltasOf(chunks);
    assert.ok(
      deltas.every((delta: Chunk) => !("content" in delta)),
      "no content chunks",
    );
    assert.equal(deltas[0].role, "assistant");
    delete deltas[0].role;
    const finish = deltas.pop();
    assert.deepEqual(finish, {});
    assert.equal(chunks.at(-2).choices[0].finish_reason, "tool_calls");
    const expectedIds = ["call_0", "toolu_custom", "call_2"];
    let at = 0;
    for (const [index, call] of TOOL_CALLS.entries()) {
      assert.deepEqual(deltas[at], {
        tool_calls: [
          { index, id: expectedIds[index], type: "function", function: { name: call.name, arguments: "" } },
        ],
      });
      at += 1;
      const pieces: string[] = [];
      while (at < deltas.length && deltas[at].tool_calls[0].id === undefined) {
        const [piece] = deltas[at].tool_calls;
        assert.deepEqual(Object.keys(piece), ["index", "function"]);
        assert.deepEqual(Object.keys(piece.function), ["arguments"]);
        assert.equal(piece.index, index);
        pieces.push(piece.function.arguments);
        at += 1;
      }
      // 3 pieces for even calls, 2 for odd ones, never more than the arguments have characters ("{}" → 2).
      assert.equal(pieces.length, [3, 2, 2][index], `pieces of call ${index}`);
      assert.ok(pieces.every((piece) => piece !== ""));
      assert.equal(pieces.join(""), call.arguments);
    }
    assert.equal(at, deltas.length);
  });

  it("streams tool calls after any content and reasoning", async () => {
    const [call] = TOOL_CALLS;
    fake().setBehavior(MODEL, {
      kind: "healthy",
      chunks: 1,
      reasoning: "hmm",
      toolCalls: [call as FakeToolCall],
    });
    const deltas = deltasOf(await streamedChunks({}));
    assert.deepEqual(deltas.slice(0, 3), [
      { role: "assistant", reasoning_content: "hmm" },
      { content: "chunk 0 " },
      {
        tool_calls: [
          { index: 0, id: "call_0", type: "function", function: { name: "get_weather", arguments: "" } },
        ],
      },
    ]);
    assert.equal(deltas.length, 3 + 3 + 1);
  });

  it("answers message.tool_calls with the whole arguments and finish_reason tool_calls when not streamed", async () => {
    fake().setBehavior(MODEL, { kind: "healthy", chunks: 0, toolCalls: TOOL_CALLS });
    let choice = await wholeChoice();
    assert.equal(choice.finish_reason, "tool_calls");
    assert.deepEqual(choice.message, {
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "call_0", type: "function", function: TOOL_CALLS[0] },
        { id: "toolu_custom", type: "function", function: { name: "lookup", arguments: '{"q":"naïve 🙂"}' } },
        { id: "call_2", type: "function", function: TOOL_CALLS[2] },
      ],
    });
    fake().setBehavior(MODEL, {
      kind: "healthy",
      chunks: 2,
      reasoning: "hmm",
      toolCalls: TOOL_CALLS.slice(0, 1),
    });
    choice = await wholeChoice();
    assert.deepEqual(
      [choice.message.content, choice.message.reasoning_content, choice.message.tool_calls.length],
      ["chunk 0 chunk 1 ", "hmm", 1],
    );
  });

  it("counts the same completion tokens streamed and not", async () => {
    fake().setBehavior(MODEL, { kind: "healthy", chunks: 1, reasoning: "a b c", toolCalls: TOOL_CALLS });
    const streamed = (await streamedChunks({})).at(-1).usage.completion_tokens;
    const response = await postCompletion(fake().url, { model: MODEL });
    const whole = (await response.json()).usage.completion_tokens;
    // 2 per content chunk, 1 per reasoning word, 1 per tool-call header and argument piece.
    const expected = 2 + 3 + (1 + 3) + (1 + 2) + (1 + 2);
    assert.deepEqual([streamed, whole], [expected, expected]);
  });

  it("leaves /v1/completions plain text", async () => {
    fake().setBehavior(MODEL, { kind: "healthy", chunks: 1, reasoning: "hmm", toolCalls: TOOL_CALLS });
    const response = await postCompletion(
      fake().url,
      { model: MODEL, prompt: "x" },
      { path: "/v1/completions" },
    );
    const body = await response.json();
    assert.deepEqual(
      [body.choices[0].text, body.choices[0].finish_reason, body.usage.completion_tokens],
      ["chunk 0 ", "stop", 2],
    );
  });

  it("is scriptable over the admin endpoint, which refuses malformed reasoning and tool-call fields", async () => {
    const good = {
      kind: "healthy",
      chunks: 0,
      reasoning: "r",
      reasoningField: "reasoning",
      toolCalls: TOOL_CALLS,
    };
    let response = await postJson(`${fake().url}/__admin/behavior`, { model: MODEL, behavior: good });
    assert.deepEqual(await response.json(), { ok: true });
    assert.equal((await wholeChoice()).message.tool_calls.length, 3);
    const bad: [Record<string, unknown>, string][] = [
      [{ reasoning: 3 }, "behavior.reasoning must be a string"],
      [
        { reasoningField: "thinking" },
        "behavior.reasoningField must be one of: reasoning_content, reasoning",
      ],
      [{ toolCalls: {} }, "behavior.toolCalls must be an array of {id?, name, arguments} objects"],
      [{ toolCalls: ["x"] }, "behavior.toolCalls[0] must be an object"],
      [{ toolCalls: [{ name: "f" }] }, "behavior.toolCalls[0].arguments must be a string"],
      [
        { toolCalls: [{ name: "", arguments: "{}" }] },
        "behavior.toolCalls[0].name must be a non-empty string",
      ],
      [
        { toolCalls: [{ id: 7, name: "f", arguments: "{}" }] },
        "behavior.toolCalls[0].id must be a non-empty string",
      ],
      [
        { toolCalls: [TOOL_CALLS[0], { name: "f", arguments: {} }] },
        "behavior.toolCalls[1].arguments must be a string",
      ],
      [
        { toolCalls: [{ name: "f", arguments: "", type: "function" }] },
        "behavior.toolCalls[0].type is not a field of a tool call",
      ],
    ];
    for (const [fields, error] of bad) {
      assert.deepEqual(parseBehavior({ kind: "healthy", ...fields }), { ok: false, error });
      response = await postJson(`${fake().url}/__admin/behavior`, {
        model: MODEL,
        behavior: { kind: "healthy", ...fields },
      });
      assert.deepEqual([response.status, await response.json()], [400, { detail: error }]);
    }
    assert.deepEqual(parseBehavior({ kind: "status", status: 500, reasoning: "r" }), {
      ok: false,
      error: "behavior.reasoning is not a field of kind status",
    });
  });
});

describe("delays", () => {
  it("slow_headers holds the status line back, then answers normally", async () => {
    fake().setBehavior(MODEL, { kind: "slow_headers", delayMs: 200 });
    const started = performance.now();
    const response = await postCompletion(fake().url, { model: MODEL });
    assert.ok(elapsedSince(started) >= 195);
    assert.equal(response.status, 200);
    assert.equal((await response.json()).object, "chat.completion");
  });

  it("slow_first_byte sends 200 headers at once and the first body byte only after the delay", async () => {
    fake().setBehavior(MODEL, { kind: "slow_first_byte", delayMs: 200 });
    const started = performance.now();
    const response = await postCompletion(fake().url, { model: MODEL, stream: true });
    const headersAt = performance.now();
    assert.equal(response.status, 200);
    const [first] = await readEvents(readerOf(response), 1);
    assert.ok(elapsedSince(headersAt) >= 100, "headers should come before the delay");
    assert.ok(elapsedSince(started) >= 195);
    assert.match(first ?? "", /"content":"chunk 0 "/);
  });

  it("marks a request cancelled when the client gives up while headers are held back", async () => {
    fake().setBehavior(MODEL, { kind: "slow_headers", delayMs: 300 });
    await assert.rejects(postCompletion(fake().url, { model: MODEL }, { signal: AbortSignal.timeout(50) }));
    const entry = await waitFor(() => (lastEntry().cancelled ? lastEntry() : undefined));
    assert.deepEqual([entry.completed, entry.status], [false, null]);
  });
});

describe("error statuses", () => {
  it("answers each scripted status with Chutes' default FastAPI detail", async () => {
    const list = (await (await fetch(`${fake().url}/v1/models`)).json()) as {
      data: { id: string; chute_id: string }[];
    };
    const chuteId = list.data.find((entry) => entry.id === MODEL)?.chute_id;
    const expected: [number, string][] = [
      [503, `No instances available (yet) for chute_id='${chuteId}'`],
      [500, "Internal server error"],
      [401, "Invalid token."],
      [404, `model not found: ${MODEL}`],
      [429, "Stop spamming this prompt, please..."],
      [502, "Bad Gateway"],
    ];
    for (const [status, detail] of expected) {
      fake().setBehavior(MODEL, { kind: "status", status });
      const response = await postCompletion(fake().url, { model: MODEL });
      assert.equal(response.status, status);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.equal(await detailOf(response), detail);
    }
    fake().setBehavior(MODEL, { kind: "status", status: 402 });
    assert.match(await detailOf(await postCompletion(fake().url, { model: MODEL })), /^Quota exceeded/);
  });

  it("sends a custom status body and content type verbatim", async () => {
    fake().setBehavior(MODEL, { kind: "status", status: 500, body: "oops", contentType: "text/plain" });
    const response = await postCompletion(fake().url, { model: MODEL });
    assert.deepEqual(
      [response.status, response.headers.get("content-type"), await response.text()],
      [500, "text/plain", "oops"],
    );
  });

  it("answers overload 429s with each Chutes wording", async () => {
    const expected: [OverloadReason | undefined, string][] = [
      [undefined, "Infrastructure is at maximum capacity, try again later"],
      ["infra_overload", "Infrastructure is at maximum capacity, try again later"],
      ["no_targets", "no_targets"],
      ["maintenance", "model is under maintenance"],
    ];
    for (const [reason, detail] of expected) {
      fake().setBehavior(
        MODEL,
        reason === undefined ? { kind: "overloaded" } : { kind: "overloaded", reason },
      );
      const response = await postCompletion(fake().url, { model: MODEL });
      assert.equal(response.status, 429);
      assert.equal(await detailOf(response), detail);
    }
  });

  it("answers the edge's nginx HTML 429 byte for byte", async () => {
    fake().setBehavior(MODEL, { kind: "html_429" });
    const response = await postCompletion(fake().url, { model: MODEL });
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("content-type"), "text/html");
    const html = await response.text();
    assert.match(html, /^<html>\r\n<head><title>429 Too Many Requests<\/title>/);
    if (existsSync(NGINX_429_CAPTURE)) assert.equal(html, readFileSync(NGINX_429_CAPTURE, "utf8"));
  });

  it("answers empty_200 with a 200, content-length 0 and no body", async () => {
    fake().setBehavior(MODEL, { kind: "empty_200" });
    const response = await postCompletion(fake().url, { model: MODEL, stream: true });
    assert.deepEqual(
      [response.status, response.headers.get("content-length"), await response.text()],
      [200, "0", ""],
    );
  });
});

describe("broken connections", () => {
  it("reset_before_headers drops the connection so the client's fetch fails", async () => {
    fake().setBehavior(MODEL, { kind: "reset_before_headers" });
    await assert.rejects(postCompletion(fake().url, { model: MODEL }), TypeError);
    const entry = await waitFor(() => fake().requests().at(-1));
    assert.deepEqual(
      [entry.behavior, entry.status, entry.completed, entry.cancelled],
      ["reset_before_headers", null, false, false],
    );
  });

  it("reset_mid_stream delivers exactly N chunks and then breaks the body", async () => {
    fake().setBehavior(MODEL, { kind: "reset_mid_stream", afterChunks: 2 });
    const response = await postCompletion(fake().url, { model: MODEL, stream: true });
    assert.equal(response.status, 200);
    const { text, error } = await readUntilError(response);
    assert.ok(error !== null, "the body should end in an error");
    assert.equal(splitSse(text).length, 2);
    assert.equal(lastEntry().cancelled, false);
  });

  it("reset_mid_stream with no chunks breaks the body before its first byte", async () => {
    fake().setBehavior(MODEL, { kind: "reset_mid_stream", afterChunks: 0 });
    const response = await postCompletion(fake().url, { model: MODEL });
    assert.equal(response.status, 200);
    const { text, error } = await readUntilError(response);
    assert.deepEqual([text, error !== null], ["", true]);
  });

  it("stall_mid_stream sends N chunks, then nothing, and logs the client's abort as cancelled", async () => {
    fake().setBehavior(MODEL, { kind: "stall_mid_stream", afterChunks: 2 });
    const client = new AbortController();
    const response = await postCompletion(
      fake().url,
      { model: MODEL, stream: true },
      { signal: client.signal },
    );
    const reader = readerOf(response);
    assert.equal((await readEvents(reader, 2)).length, 2);
    const next = reader.read();
    assert.equal(await raceTimeout(next, 150), "timeout");
    client.abort();
    await assert.rejects(next);
    const entry = await waitFor(() => (lastEntry().cancelled ? lastEntry() : undefined));
    assert.deepEqual([entry.status, entry.completed], [200, false]);
  });
});

describe("times", () => {
  it("applies a behaviour to the next N requests only, then the model is healthy again", async () => {
    fake().setBehavior(MODEL, { kind: "status", status: 503, times: 2 });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await postCompletion(fake().url, { model: MODEL });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [503, 503, 200]);
    assert.deepEqual(fake().state().behaviors, {});
  });

  it("rejects an invalid programmatic behaviour with a TypeError", () => {
    assert.throws(() => fake().setBehavior(MODEL, { kind: "status", status: 99 }), TypeError);
    assert.throws(() => fake().setBehavior(MODEL, { kind: "healthy", times: 0 }), TypeError);
  });
});
