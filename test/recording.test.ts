// Recording (docs/contract.md §17), end to end through the Worker, its Queue, D1 and R2: a record for every
// routed request whatever its end, the levels (router, key, client header), redaction with linkable tokens,
// trace context, a long session stored once and rebuilt exactly, erasure, retention, spilled records and a
// consumer that writes nothing twice. Records are read back through the admin API, as an operator would.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it, vi } from "vitest";
import CODEX_TOOL_RESULT from "../fixtures/codex/0.171.0-tool-result.json" with { type: "json" };
import type { RequestRecord } from "../src/core/record.ts";
import worker from "../src/index.ts";
import type { QueuedRecord, RecordMessage } from "../src/state/records-store.ts";
import { adminClient, type Router } from "./support/admin.ts";
import { CLAUDE_CODE } from "./support/claude-code.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { configuredRouter, runCron, settleOutcomes } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { type Behavior, serveUpstream, status, streamBody, UPSTREAM_CHAT_URL } from "./support/upstream.ts";

const ADMIN = "admin-secret-for-recording-tests";
const REDACTION_KEY = "redaction-key-for-tests-0123456789";
const VARS = {
  ADMIN_API_KEY: ADMIN,
  UPSTREAM_API_KEY: "cpk_upstream_secret",
  ROUTER_API_KEYS: "rk_static_recording",
  RECORDING_REDACTION_KEY: REDACTION_KEY,
};
const MODEL = "acme/alpha-70b";
const USAGE = { prompt_tokens: 20, completion_tokens: 7 };

const stub = useRoutingFixture();

const { admin, createKey } = adminClient(ADMIN);

/** Waits until the Queue's consumer has written the record (the request path only enqueued it). */
async function recordOf(router: Router, id: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await admin(router, "GET", `/admin/records/${id}`);
    if (response.status === 200) return (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(404);
    if (Date.now() > deadline) throw new Error(`record ${id} was not written within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function chatJson(text: string, usage = USAGE): Behavior {
  return () =>
    Response.json({
      id: "chatcmpl-1",
      object: "chat.completion",
      model: MODEL,
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      usage,
    });
}

function chatStream(pieces: string[], usage = USAGE) {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ object: "chat.completion.chunk", model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  return streamBody(
    [
      ...pieces.map((piece) => chunk({ content: piece })),
      chunk({}, "stop"),
      `data: ${JSON.stringify({ object: "chat.completion.chunk", model: MODEL, choices: [], usage })}\n\n`,
      "data: [DONE]\n\n",
    ],
    "close",
  ).behavior;
}

describe("a record for every routed request", () => {
  it("keeps the routing facts at the default level, under the answer's x-request-id, and no body", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: chatStream(["Hello ", "there"]) });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await router.call(
      "/v1/chat/completions",
      chatRequest(
        { model: "chutesai/AutoPilot", stream: true, messages: [{ role: "user", content: "secret plan" }] },
        { authorization: "Bearer rk_static_recording", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      ),
    );
    expect(await response.text()).toContain("there");
    const id = response.headers.get("x-request-id") as string;
    const record = await recordOf(router, id);
    expect(record).toMatchObject({
      id,
      object: "request_record",
      trace_id: traceId,
      key_id: null,
      protocol: "openai.chat",
      route: "/v1/chat/completions",
      requested_model: "chutesai/AutoPilot",
      mode: "alias",
      selected_model: MODEL,
      status: 200,
      stream_end: "complete",
      usage: { prompt_tokens: 20, completion_tokens: 7, estimated: false },
      level: "metadata",
      bodies: "none",
    });
    expect(record.session).toMatch(/^key:[0-9a-f]{16}$/);
    expect(record.attempts).toEqual([expect.objectContaining({ model: MODEL, outcome: "committed" })]);
    expect(record.cost_usd).toBeGreaterThan(0);
    expect(JSON.stringify(record)).not.toContain("secret plan");
    // The upstream was sent the router's span of the client's trace.
    const upstream = stub().calls.find((call) => call.url === UPSTREAM_CHAT_URL);
    const sent = upstream?.headers.get("traceparent") ?? "";
    expect(sent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(sent).not.toContain("00f067aa0ba902b7");
  });

  it("records failed, refused-by-limit and cancelled requests too, with what went wrong", async () => {
    const router = configuredRouter(VARS);
    const key = await createKey(router, { models: [MODEL] });
    serveUpstream(stub(), { [MODEL]: status(503, "{}") });
    const failed = await router.call(
      "/v1/chat/completions",
      chatRequest({ model: MODEL, messages: MESSAGES }, { authorization: `Bearer ${key.key}` }),
    );
    expect(failed.status).toBe(503);
    await failed.text();
    const refused = await router.call(
      "/v1/chat/completions",
      chatRequest({ model: "acme/beta-8b", messages: MESSAGES }, { authorization: `Bearer ${key.key}` }),
    );
    expect(refused.status).toBe(403);
    await refused.text();
    const failedRecord = await recordOf(router, failed.headers.get("x-request-id") as string);
    // The model's own 503, passed on as it came: that model gave the answer.
    expect(failedRecord).toMatchObject({
      key_id: key.id,
      status: 503,
      mode: "direct",
      selected_model: MODEL,
    });
    expect(failedRecord.attempts).toEqual([expect.objectContaining({ model: MODEL, status: 503 })]);
    const refusedRecord = await recordOf(router, refused.headers.get("x-request-id") as string);
    expect(refusedRecord).toMatchObject({ key_id: key.id, status: 403, error_code: "model_not_allowed" });
  });

  it("a client can lower its level with x-chutes-autopilot-record but never raise it; a bad value is refused", async () => {
    const router = configuredRouter(VARS);
    const full = await createKey(router, { recording: "full" });
    serveUpstream(stub(), { [MODEL]: chatJson("an answer") });
    // The record is written when the answer has been read to its end.
    const send = async (key: string, level: string) => {
      const response = await router.call(
        "/v1/chat/completions",
        chatRequest(
          { model: MODEL, messages: MESSAGES },
          { authorization: `Bearer ${key}`, "x-chutes-autopilot-record": level },
        ),
      );
      return new Response(await response.text(), response);
    };
    const lowered = await send(full.key, "metadata");
    expect(lowered.status).toBe(200);
    const raised = await send("rk_static_recording", "full");
    expect(raised.status).toBe(200);
    const bad = await send(full.key, "everything");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain(
      "x-chutes-autopilot-record",
    );
    const off = await send(full.key, "off");
    expect(off.status).toBe(200);
    expect(await recordOf(router, lowered.headers.get("x-request-id") as string)).toMatchObject({
      level: "metadata",
      bodies: "none",
    });
    expect(await recordOf(router, raised.headers.get("x-request-id") as string)).toMatchObject({
      level: "metadata",
    });
    // Off keeps nothing: by the time later records are written, it still has none.
    const later = await send(full.key, "full");
    const kept = await recordOf(router, later.headers.get("x-request-id") as string);
    expect(kept).toMatchObject({ level: "full", bodies: "kept" });
    const missing = await admin(router, "GET", `/admin/records/${off.headers.get("x-request-id")}`);
    expect(missing.status).toBe(404);
  });
});

describe("nothing lost", () => {
  /** routed_total summed over statuses, as /metrics shows it. */
  async function routedTotal(router: Router): Promise<number> {
    await settleOutcomes();
    const response = await router.call("/metrics", { headers: { authorization: `Bearer ${ADMIN}` } });
    const family = parsePrometheusTextFormat(await response.text()).find(
      (metric) => metric.name === "chutes_autopilot_routed_total",
    );
    return (family?.metrics ?? []).reduce((sum, sample) => sum + Number(sample.value), 0);
  }

  it("every routed request has a record: answered, failed, refused by a limit, cancelled mid-stream", async () => {
    const router = configuredRouter(VARS);
    const key = await createKey(router, { models: [MODEL, "acme/beta-8b"] });
    const before = await routedTotal(router);
    const auth = { authorization: `Bearer ${key.key}` };
    serveUpstream(stub(), {
      [MODEL]: streamBody(["data: {}\n\n", "data: {}\n\n"], "stall").behavior,
      "acme/beta-8b": status(500, "{}"),
    });
    const ids: string[] = [];
    const send = async (body: Record<string, unknown>, headers: Record<string, string> = auth) => {
      const response = await router.call(
        "/v1/chat/completions",
        chatRequest({ messages: MESSAGES, ...body }, headers),
      );
      ids.push(response.headers.get("x-request-id") as string);
      return response;
    };
    const cancelled = await send({ model: MODEL, stream: true });
    const reader = cancelled.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    await (await send({ model: "acme/beta-8b" })).text();
    await (await send({ model: "acme/gamma-TEE" })).text();
    // Refused before routing (no key): counted in requests_total, not routed, no record.
    const unauthenticated = await router.call(
      "/v1/chat/completions",
      chatRequest({ model: MODEL, messages: MESSAGES }),
    );
    expect(unauthenticated.status).toBe(401);
    await unauthenticated.text();
    const records = await Promise.all(ids.map((id) => recordOf(router, id)));
    expect(records.map((record) => record.status)).toEqual([200, 500, 403]);
    expect(records[0]).toMatchObject({ stream_end: "client_cancel", error_code: "client_cancel" });
    expect(await routedTotal(router)).toBe(before + records.length);
    const all = await env.RECORDS_DB.prepare("SELECT COUNT(*) AS n FROM records WHERE key_id = ?")
      .bind(key.id)
      .first<{ n: number }>();
    expect(all?.n).toBe(3);
  });
});

describe("redaction", () => {
  const EMAIL = "jane.doe@example.com";
  const CARD = "4111 1111 1111 1111";
  const CHUTES_KEY = `cpk_${"a1".repeat(16)}.${"b2".repeat(16)}.${"C3d4".repeat(8)}`;

  it("replaces e-mails, a card and a Chutes key in prompts and answers with the same token for the same value", async () => {
    const router = configuredRouter(VARS);
    const key = await createKey(router, { recording: "redacted" });
    serveUpstream(stub(), {
      [MODEL]: chatStream([
        `Sure, I wrote to ${EMAIL.slice(0, 6)}`,
        `${EMAIL.slice(6)} and used ${CHUTES_KEY}`,
      ]),
    });
    const response = await router.call(
      "/v1/chat/completions",
      chatRequest(
        {
          model: MODEL,
          stream: true,
          messages: [
            { role: "system", content: `Contact ${EMAIL} for help.` },
            { role: "user", content: `Charge ${CARD}, mail ${EMAIL}, my key is ${CHUTES_KEY}` },
          ],
        },
        { authorization: `Bearer ${key.key}` },
      ),
    );
    const streamed = await response.text();
    // The client's own stream is untouched.
    expect(streamed).toContain(EMAIL.slice(6));
    const record = await recordOf(router, response.headers.get("x-request-id") as string);
    const text = JSON.stringify(record);
    for (const secret of [EMAIL, CARD, CHUTES_KEY, CARD.replaceAll(" ", "")])
      expect(text).not.toContain(secret);
    expect(record).toMatchObject({ level: "redacted", bodies: "kept" });
    expect(record.redactions).toMatchObject({ EMAIL: 3, CARD: 1, CHUTES_KEY: 2 });
    const emailTokens = text.match(/<EMAIL:[0-9a-f]{8}>/g) ?? [];
    expect(emailTokens).toHaveLength(3);
    expect(new Set(emailTokens).size).toBe(1);
    const keyTokens = new Set(text.match(/<CHUTES_KEY:[0-9a-f]{8}>/g));
    expect(keyTokens.size).toBe(1);
    const answer = record.answer as { text: string };
    expect(answer.text).toBe(`Sure, I wrote to ${emailTokens[0]} and used ${[...keyTokens][0]}`);
  });

  it("redacts an Anthropic client's streamed tool call arguments as the client's protocol carried them", async () => {
    const router = configuredRouter(VARS);
    const key = await createKey(router, { recording: "redacted" });
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ object: "chat.completion.chunk", model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const args = JSON.stringify({ to: EMAIL, body: "hello" });
    serveUpstream(stub(), {
      [MODEL]: streamBody(
        [
          chunk({
            tool_calls: [
              { index: 0, id: "call_1", function: { name: "send_mail", arguments: args.slice(0, 9) } },
            ],
          }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(9) } }] }),
          chunk({}, "tool_calls"),
          "data: [DONE]\n\n",
        ],
        "close",
      ).behavior,
    });
    const response = await router.call("/v1/messages", {
      method: "POST",
      headers: { "x-api-key": key.key, "content-type": "application/json" },
      body: JSON.stringify({
        model: MODEL,
        max_tokens: 100,
        stream: true,
        tools: [{ name: "send_mail", input_schema: { type: "object" } }],
        messages: [{ role: "user", content: `mail ${EMAIL}` }],
      }),
    });
    expect(await response.text()).toContain("send_mail");
    const record = await recordOf(router, response.headers.get("x-request-id") as string);
    expect(record.protocol).toBe("anthropic.messages");
    const answer = record.answer as {
      tool_calls: Array<{ name: string; arguments: string }>;
      finish_reason: string;
    };
    expect(answer.finish_reason).toBe("tool_calls");
    expect(answer.tool_calls).toHaveLength(1);
    expect(JSON.parse(answer.tool_calls[0]?.arguments ?? "{}")).toEqual({
      to: expect.stringMatching(/^<EMAIL:[0-9a-f]{8}>$/),
      body: "hello",
    });
    expect(JSON.stringify(record)).not.toContain(EMAIL);
    expect(record.redactions).toEqual({ EMAIL: 2 });
  });

  it("stores no body at all when redaction cannot run (fail closed)", async () => {
    // A key set to `redacted` while the router has no RECORDING_REDACTION_KEY to redact with.
    const router = configuredRouter({ ...VARS, RECORDING_REDACTION_KEY: "" });
    const refused = await admin(router, "POST", "/admin/keys", { name: "x", recording: "redacted" });
    expect(refused.status).toBe(400);
    const withKey = configuredRouter(VARS);
    const key = await createKey(withKey, { recording: "redacted" });
    serveUpstream(stub(), { [MODEL]: chatJson(`mail ${EMAIL}`) });
    const response = await router.call(
      "/v1/chat/completions",
      chatRequest(
        { model: MODEL, messages: [{ role: "user", content: EMAIL }] },
        { authorization: `Bearer ${key.key}` },
      ),
    );
    expect(response.status).toBe(200);
    await response.text();
    const record = await recordOf(router, response.headers.get("x-request-id") as string);
    expect(record).toMatchObject({ level: "redacted", bodies: "redaction_failed", redactions: {} });
    expect(record.request).toBeUndefined();
    expect(JSON.stringify(record)).not.toContain(EMAIL);
  });
});

describe("the log line", () => {
  it("stays body-free at the full level: the prompt and the answer are in the record only", async () => {
    const router = configuredRouter({ ...VARS, RECORDING: "full" });
    const printed: string[] = [];
    const spies = (["log", "info", "warn", "error"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        printed.push(args.map(String).join(" "));
      }),
    );
    try {
      serveUpstream(stub(), { [MODEL]: chatJson("the secret answer") });
      const response = await router.call(
        "/v1/chat/completions",
        chatRequest(
          { model: MODEL, messages: [{ role: "user", content: "the secret prompt" }] },
          { authorization: "Bearer rk_static_recording" },
        ),
      );
      await response.text();
      const record = await recordOf(router, response.headers.get("x-request-id") as string);
      expect(JSON.stringify(record)).toContain("the secret prompt");
      expect(JSON.stringify(record)).toContain("the secret answer");
      const line = printed.find((text) => text.includes('"event":"request"') && text.includes("/v1/chat"));
      expect(line).toContain(`"traceId":"${record.trace_id}"`);
      expect(printed.join("\n")).not.toMatch(/the secret (prompt|answer)/);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});

describe("sessions stored once", () => {
  it("a 30-turn Claude Code session rebuilds exactly, and storage grows with new content only", async () => {
    const router = configuredRouter({ ...VARS, RECORDING: "full" });
    const first = CLAUDE_CODE.bashToolResult();
    const session = `session-${crypto.randomUUID()}`;
    const body = structuredClone(first.body);
    body.metadata = { user_id: JSON.stringify({ device_id: "d", session_id: session }) };
    body.stream = false;
    const sent: string[] = [];
    const ids: string[] = [];
    for (let turn = 0; turn < 30; turn++) {
      const answer = `Turn ${turn}: ${"the tests pass and the build is green. ".repeat(20)}`;
      serveUpstream(stub(), { [MODEL]: chatJson(answer) });
      const text = JSON.stringify({ ...body, model: MODEL });
      sent.push(text);
      const response = await router.call("/v1/messages", {
        method: "POST",
        headers: { "x-api-key": "rk_static_recording", "content-type": "application/json" },
        body: text,
      });
      expect(response.status).toBe(200);
      const reply = (await response.json()) as { content: unknown[] };
      ids.push(response.headers.get("x-request-id") as string);
      body.messages.push(
        { role: "assistant", content: reply.content },
        {
          role: "user",
          content: [{ type: "text", text: `next step ${turn}: ${"please continue. ".repeat(30)}` }],
        },
      );
    }
    const last = await recordOf(router, ids.at(-1) as string);
    expect(last.session).toBe(session);
    // Every turn reads back exactly as it was sent.
    for (const [turn, id] of ids.entries()) {
      const record = await recordOf(router, id);
      expect(record.request).toEqual(JSON.parse(sent[turn] as string));
    }
    const rebuilt = (await (await admin(router, "GET", `/admin/sessions/${session}`)).json()) as {
      turns: Array<{ record_id: string; model: string; usage: unknown; new_messages: unknown[] }>;
      messages: unknown[];
      totals: { requests: number };
    };
    expect(rebuilt.turns.map((turn) => turn.record_id)).toEqual(ids);
    expect(rebuilt.totals.requests).toBe(30);
    expect(rebuilt.messages).toEqual(JSON.parse(sent.at(-1) as string).messages);
    // After the first turn, each turn adds the answer it was given and one new prompt.
    expect(rebuilt.turns.slice(1).every((turn) => turn.new_messages.length === 2)).toBe(true);
    expect(rebuilt.turns[0]?.model).toBe(MODEL);
    // Stored: each message once. Sent: the whole history every turn.
    const stored = await env.RECORDS_DB.prepare(
      "SELECT SUM(bytes) AS bytes, COUNT(*) AS blobs FROM session_blobs WHERE scope = ?",
    )
      .bind(`k/-/s/${session}`)
      .first<{ bytes: number; blobs: number }>();
    const sentBytes = sent.reduce((sum, text) => sum + text.length, 0);
    const lastBytes = (sent.at(-1) as string).length;
    expect(stored?.blobs).toBe(JSON.parse(sent.at(-1) as string).messages.length + 2);
    expect(stored?.bytes).toBeLessThan(lastBytes * 1.1);
    expect(stored?.bytes).toBeLessThan(sentBytes / 10);
  }, 60_000);
});

describe("a stream resumed mid-answer", () => {
  it("is one record: both attempts, how each part ended, and the whole answer", async () => {
    const router = configuredRouter({ ...VARS, RECORDING: "full", RESUME_MAX: "1" });
    let calls = 0;
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    serveUpstream(stub(), {
      [MODEL]: (request) =>
        calls++ === 0
          ? streamBody(
              [chunk({ role: "assistant", content: "" }), chunk({ content: "Half of " })],
              "error",
            ).behavior(request)
          : streamBody(
              [
                chunk({ role: "assistant", content: "" }),
                chunk({ content: " the answer." }),
                chunk({}, "stop"),
                "data: [DONE]\n\n",
              ],
              "close",
            ).behavior(request),
    });
    const response = await router.call(
      "/v1/chat/completions",
      chatRequest(
        { model: MODEL, messages: MESSAGES, stream: true },
        { authorization: "Bearer rk_static_recording" },
      ),
    );
    await response.text();
    const record = await recordOf(router, response.headers.get("x-request-id") as string);
    expect(record.attempts).toMatchObject([
      { model: MODEL, outcome: "committed", stream_end: "upstream_error" },
      { model: MODEL, outcome: "committed", stream_end: "complete" },
    ]);
    expect(record.stream_end).toBe("complete");
    expect(record.answer).toMatchObject({ text: "Half of the answer.", finish_reason: "stop" });
  });
});

describe("a Codex session through /v1/responses", () => {
  it("is recorded under Codex's session id, its input items stored once, its turns in order", async () => {
    const router = configuredRouter({ ...VARS, RECORDING: "full" });
    const session = `codex-${crypto.randomUUID()}`;
    const headers = {
      ...CODEX_TOOL_RESULT.headers,
      "session-id": session,
      authorization: "Bearer rk_static_recording",
    };
    const body = structuredClone(CODEX_TOOL_RESULT.body) as Record<string, unknown> & { input: unknown[] };
    const ids: string[] = [];
    const sent: string[] = [];
    for (let turn = 0; turn < 3; turn++) {
      serveUpstream(stub(), { [MODEL]: chatStream([`Turn ${turn} done.`]) });
      const text = JSON.stringify({ ...body, model: MODEL });
      sent.push(text);
      const response = await router.call("/v1/responses", { method: "POST", headers, body: text });
      expect(response.status).toBe(200);
      await response.text();
      ids.push(response.headers.get("x-request-id") as string);
      body.input.push(
        {
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: `Turn ${turn} done.` }],
        },
        { type: "message", role: "user", content: [{ type: "input_text", text: `Next ${turn}` }] },
      );
    }
    for (const [turn, id] of ids.entries()) {
      const record = await recordOf(router, id);
      expect(record).toMatchObject({ protocol: "openai.responses", session, route: "/v1/responses" });
      expect(record.request).toEqual(JSON.parse(sent[turn] as string));
      expect(record.answer).toMatchObject({ text: `Turn ${turn} done.` });
    }
    const rebuilt = (await (await admin(router, "GET", `/admin/sessions/${session}`)).json()) as {
      turns: Array<{ record_id: string; new_messages: unknown[] }>;
      messages: unknown[];
    };
    expect(rebuilt.turns.map((turn) => turn.record_id)).toEqual(ids);
    expect(rebuilt.turns.slice(1).every((turn) => turn.new_messages.length === 2)).toBe(true);
    expect(rebuilt.messages).toEqual(JSON.parse(sent.at(-1) as string).input);
    const stored = await env.RECORDS_DB.prepare("SELECT COUNT(*) AS blobs FROM session_blobs WHERE scope = ?")
      .bind(`k/-/s/${session}`)
      .first<{ blobs: number }>();
    // Each input item once, and the tools once.
    expect(stored?.blobs).toBe(JSON.parse(sent.at(-1) as string).input.length + 1);
  }, 30_000);
});

describe("erasure and retention", () => {
  async function objectsUnder(prefix: string): Promise<number> {
    return (await env.RECORDS_BUCKET.list({ prefix })).objects.length;
  }

  it("erasing a session or a key leaves nothing behind in D1 or R2", async () => {
    const router = configuredRouter({ ...VARS, RECORDING: "full" });
    const key = await createKey(router, {});
    serveUpstream(stub(), { [MODEL]: chatJson("ok") });
    const session = `erase-${crypto.randomUUID()}`;
    const ids: string[] = [];
    for (const [credential, withSession] of [
      [key.key, true],
      [key.key, false],
    ] as const) {
      const response = await router.call("/v1/messages", {
        method: "POST",
        headers: { "x-api-key": credential, "content-type": "application/json" },
        body: JSON.stringify({
          model: MODEL,
          max_tokens: 100,
          system: "You are terse.",
          messages: [{ role: "user", content: "hi" }],
          ...(withSession ? { metadata: { user_id: JSON.stringify({ session_id: session }) } } : {}),
        }),
      });
      ids.push(response.headers.get("x-request-id") as string);
      await response.text();
    }
    for (const id of ids) await recordOf(router, id);
    const prefix = `k/${key.id}/`;
    expect(await objectsUnder(`${prefix}s/${session}/`)).toBeGreaterThan(0);

    const bySession = await admin(router, "DELETE", `/admin/records?session=${session}`);
    expect(await bySession.json()).toMatchObject({ object: "erasure", records: 1 });
    expect(await objectsUnder(`${prefix}s/${session}/`)).toBe(0);
    expect((await admin(router, "GET", `/admin/records/${ids[0]}`)).status).toBe(404);
    expect((await admin(router, "GET", `/admin/records/${ids[1]}`)).status).toBe(200);

    const byKey = await admin(router, "DELETE", `/admin/records?key_id=${key.id}`);
    expect(await byKey.json()).toMatchObject({ records: 1 });
    expect(await objectsUnder(prefix)).toBe(0);
    const rows = await env.RECORDS_DB.prepare(
      "SELECT (SELECT COUNT(*) FROM records WHERE key_id = ?) AS records, (SELECT COUNT(*) FROM session_blobs WHERE scope LIKE ?) AS blobs",
    )
      .bind(key.id, `${prefix}%`)
      .first<{ records: number; blobs: number }>();
    expect(rows).toEqual({ records: 0, blobs: 0 });
    expect((await admin(router, "DELETE", "/admin/records")).status).toBe(400);
  });

  it("the cron deletes records past RECORDING_RETENTION_DAYS with their bodies and blobs", async () => {
    const old = messageFor({ timeMs: Date.now() - 31 * 86_400_000, session: `old-${crypto.randomUUID()}` });
    const fresh = messageFor({ timeMs: Date.now(), session: `new-${crypto.randomUUID()}` });
    await consume([old, fresh]);
    await runCron();
    const ids = await env.RECORDS_DB.prepare("SELECT id FROM records WHERE id IN (?, ?)")
      .bind(old.record.id, fresh.record.id)
      .all<{ id: string }>();
    expect(ids.results.map((row) => row.id)).toEqual([fresh.record.id]);
    expect(await objectsUnder(`k/-/s/${old.record.session}/`)).toBe(0);
    expect(await objectsUnder(`k/-/s/${fresh.record.session}/`)).toBe(2);
  });
});

/** A record message as the capture would enqueue it, with a one-message body. */
function messageFor(changes: Partial<RequestRecord>): RecordMessage {
  const record: RequestRecord = {
    id: crypto.randomUUID(),
    timeMs: Date.now(),
    traceId: "0af7651916cd43dd8448eb211c80319c",
    keyId: null,
    session: null,
    protocol: "openai.chat",
    route: "/v1/chat/completions",
    requestedModel: MODEL,
    mode: "direct",
    attempts: [],
    selected: MODEL,
    status: 200,
    streamEnd: null,
    ttfbMs: 10,
    durationMs: 20,
    usage: null,
    costUsd: null,
    errorCode: null,
    level: "full",
    bodies: "kept",
    redactions: {},
    ...changes,
  };
  const message = JSON.stringify({ role: "user", content: `hello ${record.id}` });
  return {
    record,
    body: {
      stored: { request: { model: MODEL, messages: [{ $blob: "h1" }] }, answer: null },
      blobs: [["h1", message]],
    },
  };
}

async function consume(messages: QueuedRecord[], attempts = 1) {
  const batch = createMessageBatch<QueuedRecord>(
    "chutes-autopilot-records",
    messages.map((body, i) => ({ id: `m${i}`, timestamp: Date.now(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe("the Queue consumer", () => {
  it("writes a redelivered message once, and retries one it could not write", async () => {
    const message = messageFor({ session: `dup-${crypto.randomUUID()}` });
    expect((await consume([message])).explicitAcks).toEqual(["m0"]);
    expect((await consume([message], 2)).explicitAcks).toEqual(["m0"]);
    const count = await env.RECORDS_DB.prepare("SELECT COUNT(*) AS n FROM records WHERE id = ?")
      .bind(message.record.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
    // In one batch, a message that cannot be written is retried and the others are written.
    const missing: QueuedRecord = { spill: "spill/never-written.json", id: crypto.randomUUID() };
    const other = messageFor({ session: `other-${crypto.randomUUID()}` });
    const result = await consume([missing, other]);
    expect(result.retryMessages.map((retry) => retry.msgId)).toEqual(["m0"]);
    expect(result.explicitAcks).toEqual(["m1"]);
    const written = await env.RECORDS_DB.prepare("SELECT id FROM records WHERE id IN (?, ?)")
      .bind(missing.id, other.record.id)
      .all<{ id: string }>();
    expect(written.results.map((row) => row.id)).toEqual([other.record.id]);
  });

  it("asks D1 once per session and puts a blob two records of a batch share once", async () => {
    const session = `shared-${crypto.randomUUID()}`;
    const first = messageFor({ session });
    const second = messageFor({ session });
    if (second.body && first.body) second.body.blobs = first.body.blobs;
    expect((await consume([first, second])).explicitAcks).toEqual(["m0", "m1"]);
    const blobs = await env.RECORDS_DB.prepare("SELECT COUNT(*) AS n FROM session_blobs WHERE scope = ?")
      .bind(`k/-/s/${session}`)
      .first<{ n: number }>();
    expect(blobs?.n).toBe(1);
    expect((await env.RECORDS_BUCKET.list({ prefix: `k/-/s/${session}/` })).objects).toHaveLength(3);
  });

  it("a record too large for the Queue goes through R2 and reads back whole", async () => {
    const router = configuredRouter({ ...VARS, RECORDING: "full" });
    const big = "x".repeat(300_000);
    serveUpstream(stub(), { [MODEL]: chatJson(big) });
    const response = await router.call(
      "/v1/chat/completions",
      chatRequest(
        { model: MODEL, messages: [{ role: "user", content: big }] },
        { authorization: "Bearer rk_static_recording" },
      ),
    );
    await response.text();
    const id = response.headers.get("x-request-id") as string;
    const record = await recordOf(router, id);
    expect((record.request as { messages: Array<{ content: string }> }).messages[0]?.content).toBe(big);
    expect((record.answer as { text: string }).text).toBe(big);
    // The spill goes once the row is written.
    await vi.waitFor(async () => expect(await env.RECORDS_BUCKET.head(`spill/${id}.json`)).toBeNull());
  });
});

describe("the admin API", () => {
  it("lists with filters and a cursor, and exports NDJSON", async () => {
    const router = configuredRouter(VARS);
    const key = await createKey(router, {});
    serveUpstream(stub(), { [MODEL]: chatJson("ok") });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await router.call(
        "/v1/chat/completions",
        chatRequest({ model: MODEL, messages: MESSAGES }, { authorization: `Bearer ${key.key}` }),
      );
      await response.text();
      ids.push(response.headers.get("x-request-id") as string);
    }
    const unkeyed = await router.call(
      "/v1/chat/completions",
      chatRequest({ model: MODEL, messages: MESSAGES }, { authorization: "Bearer rk_static_recording" }),
    );
    await unkeyed.text();
    for (const id of [...ids, unkeyed.headers.get("x-request-id") as string]) await recordOf(router, id);
    const first = (await (await admin(router, "GET", `/admin/records?key_id=${key.id}&limit=2`)).json()) as {
      data: Array<{ id: string }>;
      next_cursor: string | null;
    };
    expect(first.data).toHaveLength(2);
    const second = (await (
      await admin(router, "GET", `/admin/records?key_id=${key.id}&limit=2&cursor=${first.next_cursor}`)
    ).json()) as { data: Array<{ id: string }>; next_cursor: string | null };
    expect(second.next_cursor).toBeNull();
    expect([...first.data, ...second.data].map((r) => r.id).sort()).toEqual([...ids].sort());
    const exported = await admin(router, "GET", `/admin/records/export?key_id=${key.id}`);
    expect(exported.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = (await exported.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: string });
    expect(lines.map((line) => line.id).sort()).toEqual([...ids].sort());
    const unmanaged = (await (await admin(router, "GET", "/admin/records?key_id=-&limit=1000")).json()) as {
      data: Array<{ key_id: string | null }>;
    };
    expect(unmanaged.data.length).toBeGreaterThan(0);
    expect(unmanaged.data.every((record) => record.key_id === null)).toBe(true);
    expect((await admin(router, "GET", "/admin/records?status=abc")).status).toBe(400);
    expect((await admin(router, "GET", "/admin/records?cursor=%%%")).status).toBe(400);
    const openapi = (await (await router.call("/openapi.json")).json()) as { paths: Record<string, unknown> };
    for (const path of [
      "/admin/records",
      "/admin/records/export",
      "/admin/records/{id}",
      "/admin/sessions/{id}",
    ])
      expect(Object.keys(openapi.paths)).toContain(path);
    expect((await router.call("/admin/records")).status).toBe(401);
  });
});
