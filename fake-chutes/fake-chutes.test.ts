// Self-test of the fake's surface from a real client: feed shapes and modes, OpenAI payloads and SSE framing,
// the admin endpoint, shutdown and the CLI. Behaviour kinds are covered in behaviors.test.ts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { DEFAULT_MODELS, DEFAULT_RANKING } from "./catalogue.ts";
import { startFakeChutes } from "./server.ts";
import {
  postCompletion,
  postJson,
  raceTimeout,
  readEvents,
  readerOf,
  splitSse,
  useFakeChutes,
  waitFor,
} from "./test-helpers.ts";

// The real Chutes captures, copied into the project so these checks never skip.
const CAPTURES = join(import.meta.dirname, "..", "fixtures");
const EXPECTED_CONTENT = "chunk 0 chunk 1 chunk 2 chunk 3 chunk 4 ";

type Row = Record<string, unknown>;

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  return response.json();
}

function asRows(value: unknown): Row[] {
  assert.ok(Array.isArray(value));
  return value as Row[];
}

// docs/contract.md §4, written out again here so the catalogue's promised order is checked, not assumed.
function scoreOf(row: Row): number {
  const num = (key: string) => (typeof row[key] === "number" ? (row[key] as number) : undefined);
  const u5 = num("utilization_5m") ?? num("utilization_current") ?? 1;
  const u15 = num("utilization_15m") ?? u5;
  const util = 0.6 * u5 + 0.3 * u15 + 0.1 * (num("utilization_1h") ?? u15);
  const r5 = num("rate_limit_ratio_5m") ?? 0;
  const r15 = num("rate_limit_ratio_15m") ?? r5;
  const rl = Math.max(r5, 0.5 * r15, 0.25 * (num("rate_limit_ratio_1h") ?? r15));
  const active = num("active_instance_count") ?? 0;
  const scale = row.scalable === true ? Math.min(num("scale_allowance") ?? 0, 8) * 0.05 : 0;
  return active * Math.max(0, 1 - util) + scale - active * rl * 2;
}

const fake = useFakeChutes();

describe("feeds", () => {
  it("serves utilization as a JSON array of capture-shaped rows, private chutes included", async () => {
    const rows = asRows(await getJson(`${fake().url}/chutes/utilization`));
    const names = rows.map((row) => row.name);
    assert.deepEqual(
      names.slice(0, DEFAULT_MODELS.length),
      DEFAULT_MODELS.map((model) => model.id),
    );
    assert.equal(names.filter((name) => name === "[private chute]").length, 2);
    for (const row of rows) {
      assert.match(String(row.chute_id), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.match(String(row.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      assert.equal(typeof row.active_instance_count, "number");
      assert.equal(typeof row.scalable, "boolean");
    }
    const real = asRows(
      JSON.parse(readFileSync(join(CAPTURES, "chutes-utilization-2026-02-18.json"), "utf8")),
    );
    assert.deepEqual(Object.keys(rows[0] ?? {}), Object.keys(real[0] ?? {}));
  });

  it("ranks the default public models in DEFAULT_RANKING order under the spec formula", async () => {
    const rows = asRows(await getJson(`${fake().url}/chutes/utilization`));
    const eligible = rows.filter(
      (row) => row.name !== "[private chute]" && Number(row.active_instance_count) > 0,
    );
    const ranked = eligible.sort((a, b) => scoreOf(b) - scoreOf(a)).map((row) => row.name);
    assert.deepEqual(ranked, DEFAULT_RANKING);
  });

  it("serves /v1/models as an OpenAI list whose chute ids match the utilization rows", async () => {
    const list = await getJson(`${fake().url}/v1/models`);
    assert.ok(list !== null && typeof list === "object" && "data" in list && "object" in list);
    assert.equal(list.object, "list");
    const data = asRows(list.data);
    const rows = asRows(await getJson(`${fake().url}/chutes/utilization`));
    for (const entry of data) {
      assert.equal(entry.object, "model");
      assert.equal(entry.confidential_compute, String(entry.id).endsWith("-TEE"));
      assert.equal(entry.chute_id, rows.find((row) => row.name === entry.id)?.chute_id);
      assert.deepEqual(Object.keys(entry.pricing as object), ["prompt", "completion", "input_cache_read"]);
    }
    const real = JSON.parse(readFileSync(join(CAPTURES, "chutes-models-2026-02-18.json"), "utf8")) as {
      data: Row[];
    };
    assert.deepEqual(Object.keys(data[0] ?? {}), Object.keys(real.data[0] ?? {}));
  });

  it("answers fail, html and replaced rows as scripted, and reset restores the defaults", async () => {
    fake().setFeed("utilization", { mode: "fail" });
    let response = await fetch(`${fake().url}/chutes/utilization`);
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { detail: "Internal server error" });

    fake().setFeed("models", { mode: "html" });
    response = await fetch(`${fake().url}/v1/models`);
    assert.equal(response.status, 502);
    assert.equal(response.headers.get("content-type"), "text/html");
    assert.match(await response.text(), /<title>502 Bad Gateway<\/title>/);

    fake().setFeed("models", { mode: "html", status: 200 });
    response = await fetch(`${fake().url}/v1/models`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /^<!DOCTYPE html>/);

    fake().setFeed("utilization", { mode: "ok", rows: [{ name: "x/y", active_instance_count: "bad" }] });
    assert.deepEqual(await getJson(`${fake().url}/chutes/utilization`), [
      { name: "x/y", active_instance_count: "bad" },
    ]);
    fake().setFeed("models", { mode: "ok", body: '{"object":"list","data":[' });
    assert.equal(await (await fetch(`${fake().url}/v1/models`)).text(), '{"object":"list","data":[');

    assert.deepEqual(fake().state().feedHits, { utilization: 2, models: 3 });
    fake().reset();
    assert.equal(asRows(await getJson(`${fake().url}/chutes/utilization`)).length, DEFAULT_MODELS.length + 2);
  });

  it("keeps a silent feed open without answering until the client gives up", async () => {
    fake().setFeed("utilization", { mode: "silent" });
    const started = performance.now();
    await assert.rejects(fetch(`${fake().url}/chutes/utilization`, { signal: AbortSignal.timeout(150) }), {
      name: "TimeoutError",
    });
    assert.ok(performance.now() - started >= 140);
  });

  it("rejects a feed state that is not one of the modes", () => {
    assert.throws(() => fake().setFeed("models", { mode: "broken" as "ok" }), TypeError);
  });
});

describe("completions", () => {
  it("answers a non-streamed chat completion with deterministic content and usage", async () => {
    const response = await postCompletion(fake().url, { model: "fake/fast-model", messages: [] });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    const body = await response.json();
    assert.equal(body.object, "chat.completion");
    assert.equal(body.model, "fake/fast-model");
    assert.deepEqual(body.choices[0].message, { role: "assistant", content: EXPECTED_CONTENT });
    assert.equal(body.choices[0].finish_reason, "stop");
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it("streams chat chunks as SSE ending with a usage chunk and [DONE], byte-identical on repeat", async () => {
    const request = { model: "fake/slow-model", stream: true, messages: [{ role: "user", content: "hi" }] };
    const first = await postCompletion(fake().url, request);
    assert.equal(first.status, 200);
    assert.match(first.headers.get("content-type") ?? "", /^text\/event-stream/);
    const text = await first.text();
    const events = splitSse(text);
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    assert.ok(
      chunks.every((chunk) => chunk.object === "chat.completion.chunk" && chunk.model === "fake/slow-model"),
    );
    const content = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("");
    assert.equal(content, EXPECTED_CONTENT);
    assert.equal(chunks[0].choices[0].delta.role, "assistant");
    assert.equal(chunks.at(-2).choices[0].finish_reason, "stop");
    assert.deepEqual(chunks.at(-1).choices, []);
    assert.equal(chunks.at(-1).usage.completion_tokens, 10);
    assert.equal(await (await postCompletion(fake().url, request)).text(), text);
  });

  it("ends every stream with finish, then a separate usage chunk, then [DONE], include_usage or not", async () => {
    const requests: Record<string, unknown>[] = [
      { model: "fake/fast-model", stream: true, stream_options: { include_usage: true } },
      { model: "fake/fast-model", stream: true },
      // Chutes forces usage on, so even an explicit `false` gets the chunk.
      { model: "fake/fast-model", stream: true, stream_options: { include_usage: false } },
    ];
    fake().setBehavior("fake/fast-model", {
      kind: "healthy",
      chunks: 2,
      toolCalls: [{ name: "f", arguments: "{}" }],
    });
    for (const request of requests) {
      const events = splitSse(await (await postCompletion(fake().url, request)).text());
      assert.equal(events.at(-1), "[DONE]", JSON.stringify(request));
      const [finish, usage] = events.slice(-3, -1).map((event) => JSON.parse(event));
      assert.equal(finish.choices[0].finish_reason, "tool_calls");
      assert.equal(finish.usage, undefined);
      assert.deepEqual(Object.keys(usage), ["id", "object", "created", "model", "choices", "usage"]);
      assert.deepEqual(usage.choices, []);
      assert.deepEqual(Object.keys(usage.usage), ["prompt_tokens", "completion_tokens", "total_tokens"]);
      assert.equal(usage.usage.prompt_tokens, Math.ceil(JSON.stringify(request).length / 4));
      assert.equal(usage.usage.completion_tokens, 2 * 2 + 1 + 2);
      assert.equal(usage.usage.total_tokens, usage.usage.prompt_tokens + usage.usage.completion_tokens);
      const withUsage = events.slice(0, -1).filter((event) => event.includes('"usage"'));
      assert.equal(withUsage.length, 1, "exactly one usage chunk");
    }
  });

  it("answers /v1/completions with text_completion, streamed and not", async () => {
    const path = "/v1/completions";
    const whole = await (
      await postCompletion(fake().url, { model: "fake/fast-model", prompt: "x" }, { path })
    ).json();
    assert.equal(whole.object, "text_completion");
    assert.equal(whole.choices[0].text, EXPECTED_CONTENT);
    const streamed = await postCompletion(
      fake().url,
      { model: "fake/fast-model", prompt: "x", stream: true },
      { path },
    );
    const events = splitSse(await streamed.text());
    assert.equal(events.pop(), "[DONE]");
    const chunks = events.map((event) => JSON.parse(event));
    assert.ok(chunks.every((chunk) => chunk.object === "text_completion"));
    assert.equal(chunks.map((chunk) => chunk.choices[0]?.text ?? "").join(""), EXPECTED_CONTENT);
  });

  it("answers FastAPI errors for an unknown model, a bad body, a wrong method and an unknown path", async () => {
    let response = await postCompletion(fake().url, { model: "nobody/nothing" });
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { detail: "model not found: nobody/nothing" });
    response = await fetch(`${fake().url}/v1/chat/completions`, { method: "POST", body: "{not json" });
    assert.equal(response.status, 400);
    assert.equal(typeof (await response.json()).detail, "string");
    response = await fetch(`${fake().url}/v1/chat/completions`);
    assert.equal(response.status, 405);
    await response.body?.cancel();
    response = await fetch(`${fake().url}/nowhere`);
    assert.deepEqual([response.status, await response.json()], [404, { detail: "Not Found" }]);
  });
});

describe("admin endpoint", () => {
  it("scripts a behaviour over HTTP and logs the request with lower-cased headers and the raw body", async () => {
    let response = await postJson(`${fake().url}/__admin/behavior`, {
      model: "fake/fast-model",
      behavior: { kind: "status", status: 503 },
    });
    assert.deepEqual(await response.json(), { ok: true });
    const raw = '{"temperature":0.5,  "model":"fake/fast-model","messages":[]}';
    response = await fetch(`${fake().url}/v1/chat/completions`, {
      method: "POST",
      headers: { "X-Custom-Header": "Kept", Authorization: "Bearer cpk_abc" },
      body: raw,
    });
    assert.equal(response.status, 503);
    await response.body?.cancel();
    const log = (await (await fetch(`${fake().url}/__admin/requests`)).json()) as Row[];
    assert.equal(log.length, 1);
    const entry = log[0] ?? {};
    assert.equal(entry.path, "/v1/chat/completions");
    assert.equal(entry.model, "fake/fast-model");
    assert.equal(entry.body, raw);
    assert.equal(entry.behavior, "status");
    assert.equal(entry.status, 503);
    assert.deepEqual([entry.completed, entry.cancelled], [true, false]);
    const headers = entry.headers as Record<string, string>;
    assert.equal(headers["x-custom-header"], "Kept");
    assert.equal(headers.authorization, "Bearer cpk_abc");
    await postJson(`${fake().url}/__admin/requests/clear`, {});
    assert.deepEqual(fake().requests(), []);
  });

  it("refuses a malformed behaviour or feed command with a 400 detail", async () => {
    const cases: [string, unknown][] = [
      ["/__admin/behavior", { model: "fake/fast-model", behavior: { kind: "explode" } }],
      ["/__admin/behavior", { model: "fake/fast-model", behavior: { kind: "slow_headers" } }],
      ["/__admin/behavior", { model: "fake/fast-model", behavior: { kind: "healthy", chunk: 3 } }],
      ["/__admin/behavior", { model: "fake/fast-model", behavior: { kind: "healthy", toolCalls: [{}] } }],
      ["/__admin/behavior", { behavior: { kind: "healthy" } }],
      ["/__admin/feed", { feed: "weather", mode: "ok" }],
      ["/__admin/feed", { feed: "models", mode: "ok", rows: {} }],
    ];
    for (const [path, body] of cases) {
      const response = await postJson(`${fake().url}${path}`, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(typeof (await response.json()).detail, "string");
    }
  });

  it("sets feeds, reports state and resets over HTTP", async () => {
    await postJson(`${fake().url}/__admin/feed`, { feed: "models", mode: "fail", status: 503 });
    await postJson(`${fake().url}/__admin/behavior`, {
      model: "fake/slow-model",
      behavior: { kind: "overloaded", times: 2 },
    });
    assert.equal((await fetch(`${fake().url}/v1/models`)).status, 503);
    const state = await (await fetch(`${fake().url}/__admin/state`)).json();
    assert.deepEqual(state.feeds.models, { mode: "fail", status: 503 });
    assert.deepEqual(state.behaviors["fake/slow-model"], {
      behavior: { kind: "overloaded", times: 2 },
      remaining: 2,
    });
    assert.deepEqual(state.feedHits, { utilization: 0, models: 1 });
    await postJson(`${fake().url}/__admin/reset`, {});
    assert.deepEqual(fake().state(), {
      behaviors: {},
      feeds: { utilization: { mode: "ok" }, models: { mode: "ok" } },
      feedHits: { utilization: 0, models: 0 },
    });
    const missing = await fetch(`${fake().url}/__admin/nothing`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });
});

describe("lifecycle", () => {
  it("closes promptly while a stream is stalled and a feed is silent", async () => {
    const own = await startFakeChutes({ models: [{ id: "solo/model" }] });
    own.setBehavior("solo/model", { kind: "stall_mid_stream", afterChunks: 1 });
    own.setFeed("models", { mode: "silent" });
    const stalled = await postCompletion(own.url, { model: "solo/model", stream: true });
    const reader = readerOf(stalled);
    assert.equal((await readEvents(reader, 1)).length, 1);
    const silent = fetch(`${own.url}/v1/models`).catch((error: unknown) => error);
    await waitFor(() => (own.state().feedHits.models === 1 ? true : undefined));
    const started = performance.now();
    await own.close();
    assert.ok(performance.now() - started < 500);
    await assert.rejects(reader.read());
    assert.ok((await silent) instanceof Error);
  });

  it("runs from the command line, prints its URL as JSON and stops on SIGTERM", async () => {
    const cli = join(import.meta.dirname, "cli.ts");
    const child = spawn(process.execPath, [cli, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = await Promise.race([
        new Promise<string[]>((resolve) => lines.once("line", (text) => resolve([text]))),
        exited.then(() => [""]),
      ]);
      const { url } = JSON.parse(line ?? "") as { url: string };
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const list = (await getJson(`${url}/v1/models`)) as { data: Row[] };
      assert.equal(list.data.length, DEFAULT_MODELS.length);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await raceTimeout(exited, 3_000), 0);
  });
});
