// Self-test of every behaviour kind from a real client (fetch): what reaches the wire, when, and what the
// request log says afterwards. Delays are small (≤ 300 ms) so the whole file stays fast.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import type { OverloadReason } from "./behaviors.ts";
import type { RequestLogEntry } from "./request-log.ts";
import { type FakeChutes, startFakeChutes } from "./server.ts";
import {
  postCompletion,
  raceTimeout,
  readEvents,
  readerOf,
  readUntilError,
  splitSse,
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

let fake: FakeChutes;
before(async () => {
  fake = await startFakeChutes();
  // The first fetch in a process loads the HTTP client; keep that cost out of the timed tests.
  await (await fetch(`${fake.url}/v1/models`)).text();
});
after(() => fake.close());
beforeEach(() => fake.reset());

function lastEntry(): RequestLogEntry {
  const entry = fake.requests().at(-1);
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
    fake.setBehavior(MODEL, { kind: "healthy", chunks: 3, intervalMs: 50, firstByteDelayMs: 200 });
    const started = performance.now();
    const response = await postCompletion(fake.url, { model: MODEL, stream: true });
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

describe("delays", () => {
  it("slow_headers holds the status line back, then answers normally", async () => {
    fake.setBehavior(MODEL, { kind: "slow_headers", delayMs: 200 });
    const started = performance.now();
    const response = await postCompletion(fake.url, { model: MODEL });
    assert.ok(elapsedSince(started) >= 195);
    assert.equal(response.status, 200);
    assert.equal((await response.json()).object, "chat.completion");
  });

  it("slow_first_byte sends 200 headers at once and the first body byte only after the delay", async () => {
    fake.setBehavior(MODEL, { kind: "slow_first_byte", delayMs: 200 });
    const started = performance.now();
    const response = await postCompletion(fake.url, { model: MODEL, stream: true });
    const headersAt = performance.now();
    assert.equal(response.status, 200);
    const [first] = await readEvents(readerOf(response), 1);
    assert.ok(elapsedSince(headersAt) >= 100, "headers should come before the delay");
    assert.ok(elapsedSince(started) >= 195);
    assert.match(first ?? "", /"content":"chunk 0 "/);
  });

  it("marks a request cancelled when the client gives up while headers are held back", async () => {
    fake.setBehavior(MODEL, { kind: "slow_headers", delayMs: 300 });
    await assert.rejects(postCompletion(fake.url, { model: MODEL }, { signal: AbortSignal.timeout(50) }));
    const entry = await waitFor(() => (lastEntry().cancelled ? lastEntry() : undefined));
    assert.deepEqual([entry.completed, entry.status], [false, null]);
  });
});

describe("error statuses", () => {
  it("answers each scripted status with Chutes' default FastAPI detail", async () => {
    const list = (await (await fetch(`${fake.url}/v1/models`)).json()) as {
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
      fake.setBehavior(MODEL, { kind: "status", status });
      const response = await postCompletion(fake.url, { model: MODEL });
      assert.equal(response.status, status);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.equal(await detailOf(response), detail);
    }
    fake.setBehavior(MODEL, { kind: "status", status: 402 });
    assert.match(await detailOf(await postCompletion(fake.url, { model: MODEL })), /^Quota exceeded/);
  });

  it("sends a custom status body and content type verbatim", async () => {
    fake.setBehavior(MODEL, { kind: "status", status: 500, body: "oops", contentType: "text/plain" });
    const response = await postCompletion(fake.url, { model: MODEL });
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
      fake.setBehavior(MODEL, reason === undefined ? { kind: "overloaded" } : { kind: "overloaded", reason });
      const response = await postCompletion(fake.url, { model: MODEL });
      assert.equal(response.status, 429);
      assert.equal(await detailOf(response), detail);
    }
  });

  it("answers the edge's nginx HTML 429 byte for byte", async () => {
    fake.setBehavior(MODEL, { kind: "html_429" });
    const response = await postCompletion(fake.url, { model: MODEL });
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("content-type"), "text/html");
    const html = await response.text();
    assert.match(html, /^<html>\r\n<head><title>429 Too Many Requests<\/title>/);
    if (existsSync(NGINX_429_CAPTURE)) assert.equal(html, readFileSync(NGINX_429_CAPTURE, "utf8"));
  });

  it("answers empty_200 with a 200, content-length 0 and no body", async () => {
    fake.setBehavior(MODEL, { kind: "empty_200" });
    const response = await postCompletion(fake.url, { model: MODEL, stream: true });
    assert.deepEqual(
      [response.status, response.headers.get("content-length"), await response.text()],
      [200, "0", ""],
    );
  });
});

describe("broken connections", () => {
  it("reset_before_headers drops the connection so the client's fetch fails", async () => {
    fake.setBehavior(MODEL, { kind: "reset_before_headers" });
    await assert.rejects(postCompletion(fake.url, { model: MODEL }), TypeError);
    const entry = await waitFor(() => fake.requests().at(-1));
    assert.deepEqual(
      [entry.behavior, entry.status, entry.completed, entry.cancelled],
      ["reset_before_headers", null, false, false],
    );
  });

  it("reset_mid_stream delivers exactly N chunks and then breaks the body", async () => {
    fake.setBehavior(MODEL, { kind: "reset_mid_stream", afterChunks: 2 });
    const response = await postCompletion(fake.url, { model: MODEL, stream: true });
    assert.equal(response.status, 200);
    const { text, error } = await readUntilError(response);
    assert.ok(error !== null, "the body should end in an error");
    assert.equal(splitSse(text).length, 2);
    assert.equal(lastEntry().cancelled, false);
  });

  it("reset_mid_stream with no chunks breaks the body before its first byte", async () => {
    fake.setBehavior(MODEL, { kind: "reset_mid_stream", afterChunks: 0 });
    const response = await postCompletion(fake.url, { model: MODEL });
    assert.equal(response.status, 200);
    const { text, error } = await readUntilError(response);
    assert.deepEqual([text, error !== null], ["", true]);
  });

  it("stall_mid_stream sends N chunks, then nothing, and logs the client's abort as cancelled", async () => {
    fake.setBehavior(MODEL, { kind: "stall_mid_stream", afterChunks: 2 });
    const client = new AbortController();
    const response = await postCompletion(
      fake.url,
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
    fake.setBehavior(MODEL, { kind: "status", status: 503, times: 2 });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await postCompletion(fake.url, { model: MODEL });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [503, 503, 200]);
    assert.deepEqual(fake.state().behaviors, {});
  });

  it("rejects an invalid programmatic behaviour with a TypeError", () => {
    assert.throws(() => fake.setBehavior(MODEL, { kind: "status", status: 99 }), TypeError);
    assert.throws(() => fake.setBehavior(MODEL, { kind: "healthy", times: 0 }), TypeError);
  });
});
