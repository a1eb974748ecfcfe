// Self-test of `continue_final_message` from a real client: a continuation picks up where the final assistant
// message stops (at the fake's own chunk boundaries), restarts when told to or when the prefix is not its
// answer, is refused alongside `add_generation_prompt` as vLLM refuses it, and breaks like any other answer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseBehavior } from "./behaviors.ts";
import { FAKE_CREATED } from "./catalogue.ts";
import { chunksSpanning, piecesAfter } from "./continuation.ts";
import type { RequestLogEntry } from "./request-log.ts";
import { postCompletion, postJson, readUntilError, splitSse, useFakeChutes } from "./test-helpers.ts";

const MODEL = "fake/flaky-model";
const FULL_ANSWER = "chunk 0 chunk 1 chunk 2 chunk 3 chunk 4 ";
const ROLE_ONLY = { role: "assistant", content: "" };
const VLLM_BOTH_FLAGS = {
  object: "error",
  message: "Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
  type: "BadRequestError",
  param: null,
  code: 400,
};

const fake = useFakeChutes();

// biome-ignore lint/suspicious/noExplicitAny: chunks are untyped JSON picked apart by the assertions.
type Chunk = any;

/** A chat request asking to continue `prefix`, as the router sends one. */
function continuing(prefix: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: MODEL,
    messages: [
      { role: "user", content: "Count." },
      { role: "assistant", content: prefix },
    ],
    continue_final_message: true,
    add_generation_prompt: false,
    ...extra,
  };
}

async function streamedChunks(body: Record<string, unknown>): Promise<Chunk[]> {
  const response = await postCompletion(fake().url, { ...body, stream: true });
  assert.equal(response.status, 200);
  const events = splitSse(await response.text());
  assert.equal(events.pop(), "[DONE]");
  return events.map((event) => JSON.parse(event));
}

/** The deltas of the chunks that carry a choice, i.e. all but the usage chunk. */
function deltasOf(chunks: Chunk[]): Chunk[] {
  return chunks.filter((chunk) => chunk.choices.length > 0).map((chunk) => chunk.choices[0].delta);
}

function contentOf(chunks: Chunk[]): string[] {
  return deltasOf(chunks)
    .filter((delta: Chunk) => typeof delta.content === "string" && delta.content !== "")
    .map((delta: Chunk) => delta.content);
}

function lastEntry(): RequestLogEntry {
  const entry = fake().requests().at(-1);
  assert.ok(entry !== undefined, "no request logged");
  return entry;
}

describe("piecesAfter and chunksSpanning", () => {
  const pieces = ["chunk 0 ", "chunk 1 ", "chunk 2 "];

  it("cuts at the answer's own chunk boundaries, the first piece the tail of the one the prefix ends in", () => {
    assert.deepEqual(piecesAfter("", pieces), pieces);
    assert.deepEqual(piecesAfter("chunk 0 chu", pieces), ["nk 1 ", "chunk 2 "]);
    assert.deepEqual(piecesAfter("chunk 0 chunk 1", pieces), [" ", "chunk 2 "]);
    assert.deepEqual(piecesAfter("chunk 0 chunk 1 \n", pieces), [" ", "chunk 2 "]);
    assert.deepEqual(piecesAfter("chunk 0 chunk 1 chunk 2", pieces), [" "]);
    assert.deepEqual(piecesAfter("chunk 0 chunk 1 chunk 2 chunk 3", pieces), null);
    assert.deepEqual(piecesAfter("Sure! chunk 0", pieces), null);
  });

  it("counts the chunks a prefix reaches into", () => {
    assert.deepEqual(
      ["", "chunk 0", "chunk 0 ", "chunk 0 c", "chunk 0 chunk 1 "].map(chunksSpanning),
      [0, 1, 1, 2, 2],
    );
  });
});

describe("continue_final_message", () => {
  it("streams a role-only chunk, then what follows the whitespace-stripped prefix, under a fresh id", async () => {
    const body = continuing("chunk 0 chunk 1");
    const chunks = await streamedChunks(body);
    const deltas = deltasOf(chunks);
    assert.deepEqual(deltas[0], ROLE_ONLY);
    assert.deepEqual(deltas.slice(1), [
      { content: " " },
      { content: "chunk 2 " },
      { content: "chunk 3 " },
      { content: "chunk 4 " },
      {},
    ]);
    assert.equal(`chunk 0 chunk 1${contentOf(chunks).join("")}`, FULL_ANSWER);
    assert.equal(chunks.at(-2).choices[0].finish_reason, "stop");
    const [first] = chunks;
    assert.match(first.id, /^chatcmpl-/);
    assert.notEqual(first.id, "chatcmpl-fake");
    assert.notEqual(first.created, FAKE_CREATED);
    assert.ok(chunks.every((chunk: Chunk) => chunk.id === first.id && chunk.created === first.created));
    // Prompt tokens count the whole request, prefix included; completion tokens the four pieces sent.
    const prompt = Math.ceil(Buffer.byteLength(JSON.stringify({ ...body, stream: true })) / 4);
    assert.deepEqual(chunks.at(-1).usage, {
      prompt_tokens: prompt,
      completion_tokens: 4 * 2,
      total_tokens: prompt + 8,
    });
    assert.deepEqual(chunks.at(-1).choices, []);
    // The request log keeps the continuation request's body as sent.
    const logged = JSON.parse(lastEntry().body);
    assert.deepEqual(
      [logged.continue_final_message, logged.add_generation_prompt, logged.messages.at(-1)],
      [true, false, { role: "assistant", content: "chunk 0 chunk 1" }],
    );
    assert.equal(lastEntry().behavior, "healthy");
  });

  it("continues a prefix that ends inside a chunk with that chunk's tail", async () => {
    const chunks = await streamedChunks(continuing("chunk 0 chu"));
    assert.deepEqual(deltasOf(chunks)[0], ROLE_ONLY);
    assert.deepEqual(contentOf(chunks), ["nk 1 ", "chunk 2 ", "chunk 3 ", "chunk 4 "]);
    assert.equal(chunks.at(-1).usage.completion_tokens, 4 * 2);
  });

  it("answers only the stripped trailing space when the prefix is the whole answer", async () => {
    const chunks = await streamedChunks(continuing(FULL_ANSWER));
    assert.deepEqual(deltasOf(chunks), [ROLE_ONLY, { content: " " }, {}]);
    assert.equal(chunks.at(-1).usage.completion_tokens, 2);
  });

  it("refuses add_generation_prompt true or missing with vLLM's 400, and logs it as refused", async () => {
    for (const flag of [true, undefined]) {
      for (const stream of [true, false]) {
        const response = await postCompletion(
          fake().url,
          continuing("chunk 0", { add_generation_prompt: flag, stream }),
        );
        assert.deepEqual([response.status, await response.json()], [400, VLLM_BOTH_FLAGS]);
        assert.equal(lastEntry().behavior, "refused");
      }
    }
    // Without continue_final_message the flag is the ordinary default: a whole answer, role on its first chunk.
    const chunks = await streamedChunks({ ...continuing("chunk 0"), continue_final_message: false });
    assert.deepEqual(deltasOf(chunks)[0], { role: "assistant", content: "chunk 0 " });
  });

  it('answers the whole answer from "chunk 0 " under continuation "restarts"', async () => {
    fake().setBehavior(MODEL, { kind: "healthy", chunks: 3, continuation: "restarts" });
    const chunks = await streamedChunks(continuing("chunk 0 chunk 1"));
    assert.deepEqual(deltasOf(chunks), [
      ROLE_ONLY,
      { content: "chunk 0 " },
      { content: "chunk 1 " },
      { content: "chunk 2 " },
      {},
    ]);
    assert.equal(chunks.at(-1).usage.completion_tokens, 3 * 2);
  });

  it("answers the whole answer when the prefix is not the start of it", async () => {
    const chunks = await streamedChunks(continuing("Sure! chunk 0"));
    assert.deepEqual(deltasOf(chunks)[0], ROLE_ONLY);
    assert.equal(contentOf(chunks).join(""), FULL_ANSWER);
    assert.equal(chunks.at(-1).usage.completion_tokens, 5 * 2);
  });

  it("sends no reasoning when it continues, and the tool calls after the continued content", async () => {
    fake().setBehavior(MODEL, {
      kind: "healthy",
      chunks: 3,
      reasoning: "hmm",
      toolCalls: [{ name: "f", arguments: "{}" }],
    });
    const chunks = await streamedChunks(continuing("chunk 0 c"));
    const deltas = deltasOf(chunks);
    assert.deepEqual(deltas.slice(0, 4), [
      ROLE_ONLY,
      { content: "hunk 1 " },
      { content: "chunk 2 " },
      {
        tool_calls: [{ index: 0, id: "call_0", type: "function", function: { name: "f", arguments: "" } }],
      },
    ]);
    assert.ok(deltas.every((delta: Chunk) => !("reasoning_content" in delta)));
    assert.equal(chunks.at(-2).choices[0].finish_reason, "tool_calls");
    // 2 per content piece, 1 per tool-call header and argument piece ("{}" → 2).
    assert.equal(chunks.at(-1).usage.completion_tokens, 2 * 2 + 1 + 2);
  });

  it("answers a non-streamed continuation with the rest as one chat.completion", async () => {
    const response = await postCompletion(fake().url, continuing("chunk 0 chunk 1"));
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.match(body.id, /^chatcmpl-/);
    assert.notEqual(body.id, "chatcmpl-fake");
    assert.notEqual(body.created, FAKE_CREATED);
    assert.equal(body.object, "chat.completion");
    assert.deepEqual(body.choices, [
      {
        index: 0,
        message: { role: "assistant", content: " chunk 2 chunk 3 chunk 4 " },
        logprobs: null,
        finish_reason: "stop",
      },
    ]);
    assert.equal(body.usage.completion_tokens, 4 * 2);
  });

  it("gives every continuation its own id", async () => {
    const ids: string[] = [];
    for (let attempt = 0; attempt < 2; attempt += 1) {
      ids.push((await streamedChunks(continuing("chunk 0")))[0].id);
    }
    assert.notEqual(ids[0], ids[1]);
  });

  it("leaves /v1/completions alone", async () => {
    const response = await postCompletion(
      fake().url,
      { model: MODEL, prompt: "x", continue_final_message: true },
      { path: "/v1/completions" },
    );
    assert.equal(response.status, 200);
    assert.equal((await response.json()).choices[0].text, FULL_ANSWER);
  });
});

describe("continue_final_message on a broken connection", () => {
  it("reset_mid_stream sends the first afterChunks events of the continuation, the role-only chunk first", async () => {
    fake().setBehavior(MODEL, { kind: "reset_mid_stream", afterChunks: 3 });
    const response = await postCompletion(fake().url, { ...continuing("chunk 0 chunk 1"), stream: true });
    assert.equal(response.status, 200);
    const { text, error } = await readUntilError(response);
    assert.ok(error !== null, "the body should end in an error");
    const chunks = splitSse(text).map((event) => JSON.parse(event));
    assert.deepEqual(deltasOf(chunks), [ROLE_ONLY, { content: " " }, { content: "chunk 2 " }]);
    assert.notEqual(chunks[0].id, "chatcmpl-fake");
    assert.equal(lastEntry().cancelled, false);
  });

  it("reset_mid_stream breaks before the finish even when afterChunks outruns the default answer", async () => {
    fake().setBehavior(MODEL, { kind: "reset_mid_stream", afterChunks: 8 });
    const response = await postCompletion(fake().url, {
      ...continuing("chunk 0 chunk 1 chunk 2 "),
      stream: true,
    });
    const { text, error } = await readUntilError(response);
    assert.ok(error !== null);
    const deltas = deltasOf(splitSse(text).map((event) => JSON.parse(event)));
    // The prefix's trailing space is stripped, so the engine says it again first.
    assert.equal(deltas.length, 8);
    assert.deepEqual(deltas.slice(0, 3), [ROLE_ONLY, { content: " " }, { content: "chunk 3 " }]);
    assert.deepEqual(deltas.at(-1), { content: "chunk 8 " });
  });

  it("reset_mid_stream cuts a non-streamed continuation's JSON body in half", async () => {
    fake().setBehavior(MODEL, { kind: "reset_mid_stream", afterChunks: 1 });
    const response = await postCompletion(fake().url, continuing("chunk 0 chunk 1"));
    const { text, error } = await readUntilError(response);
    assert.ok(error !== null);
    assert.match(text, /^\{"id":"chatcmpl-fake-\d+","object":"chat\.completion"/);
  });
});

describe("continuation field", () => {
  it("is accepted on healthy and refused with a clear message otherwise", async () => {
    assert.deepEqual(parseBehavior({ kind: "healthy", continuation: "restarts" }), {
      ok: true,
      value: { kind: "healthy", continuation: "restarts" },
    });
    const error = "behavior.continuation must be one of: continues, restarts";
    assert.deepEqual(parseBehavior({ kind: "healthy", continuation: "bogus" }), { ok: false, error });
    assert.throws(() => fake().setBehavior(MODEL, { kind: "healthy", continuation: "bogus" as never }), {
      name: "TypeError",
      message: error,
    });
    const response = await postJson(`${fake().url}/__admin/behavior`, {
      model: MODEL,
      behavior: { kind: "healthy", continuation: "bogus" },
    });
    assert.deepEqual([response.status, await response.json()], [400, { detail: error }]);
    assert.deepEqual(parseBehavior({ kind: "status", status: 500, continuation: "restarts" }), {
      ok: false,
      error: "behavior.continuation is not a field of kind status",
    });
  });
});
