// Managed keys (docs/contract.md §15): the admin API, each client answer and its headers in both protocols,
// limits holding under concurrent requests, spend from usage for JSON answers and for streams (complete,
// cancelled, without usage), revocation, rotation and expiry. The clock is moved with a fake Date, never slept.
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterEach, describe, expect, it, vi } from "vitest";
import { adminClient, type Router } from "./support/admin.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { configuredRouter, settleOutcomes } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { type Behavior, serveUpstream, streamBody, UPSTREAM_CHAT_URL } from "./support/upstream.ts";

const ADMIN = "admin-secret-for-tests";
const VARS = { ADMIN_API_KEY: ADMIN, UPSTREAM_API_KEY: "cpk_upstream_secret", ROUTER_API_KEYS: "rk_static" };
// Priced in the models fixture at $0.3 per million prompt tokens and $1.2 per million completion tokens.
const MODEL = "acme/alpha-70b";
const PROMPT_PRICE = 0.3;
const COMPLETION_PRICE = 1.2;
const USAGE = { prompt_tokens: 20, completion_tokens: 500 };
const ANSWER_USD = (USAGE.prompt_tokens * PROMPT_PRICE + USAGE.completion_tokens * COMPLETION_PRICE) / 1e6;

const stub = useRoutingFixture();
afterEach(() => {
  vi.useRealTimers();
});

const { admin, createKey } = adminClient(ADMIN);

async function showKey(router: Router, id: string) {
  const response = await admin(router, "GET", `/admin/keys/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as {
    status: string;
    spend: { usd: number; total_usd: number };
    usage: { requests: number; prompt_tokens: number; completion_tokens: number };
    last_used_at: string | null;
    previous_key_valid_until: string | null;
  };
}

function chat(router: Router, key: string, body: Record<string, unknown> = {}) {
  return router.call(
    "/v1/chat/completions",
    chatRequest({ model: MODEL, messages: MESSAGES, ...body }, { authorization: `Bearer ${key}` }),
  );
}

function jsonWithUsage(usage: Record<string, number> = USAGE): Behavior {
  return () =>
    new Response(
      JSON.stringify({
        id: "c",
        object: "chat.completion",
        model: MODEL,
        choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
        usage,
      }),
      { headers: { "content-type": "application/json" } },
    );
}

function sseChunks(count: number, withUsage: boolean): string[] {
  const chunks = Array.from(
    { length: count },
    (_, i) =>
      `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"t${i}"}}]}\n\n`,
  );
  if (withUsage)
    chunks.push(`data: {"object":"chat.completion.chunk","choices":[],"usage":${JSON.stringify(USAGE)}}\n\n`);
  return [...chunks, "data: [DONE]\n\n"];
}

describe("the admin API", () => {
  it("creates a key whose secret is shown once and never listed, and reads it back", async () => {
    const router = configuredRouter(VARS);
    const created = await createKey(router, { rpm: 10, budget_usd: 5, budget_period: "month" });
    expect(created.key).toMatch(/^sk-ap-[A-Za-z0-9_-]{43}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const listed = await (await admin(router, "GET", "/admin/keys")).text();
    expect(listed).toContain(created.id);
    expect(listed).not.toContain(created.key);
    const shown = await showKey(router, created.id);
    expect(shown).toMatchObject({ status: "active", rpm: 10, budget_usd: 5, budget_period: "month" });
    expect(JSON.stringify(shown)).not.toContain(created.key.slice(10));
  });

  it("names the field it refuses, and needs the admin key", async () => {
    const router = configuredRouter(VARS);
    const bad = await admin(router, "POST", "/admin/keys", { name: "x", rpm: -1 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^rpm: /);
    const unknownField = await admin(router, "POST", "/admin/keys", { name: "x", budget: 1 });
    expect(unknownField.status).toBe(400);
    const notJson = await router.call("/admin/keys", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: "{",
    });
    expect(notJson.status).toBe(400);
    const wrongKey = await router.call("/admin/keys", { headers: { authorization: "Bearer rk_static" } });
    expect(wrongKey.status).toBe(401);
    expect((await admin(router, "GET", "/admin/keys/key_000000000000")).status).toBe(404);
  });

  it("is off, with a clear 404, when ADMIN_API_KEY is not set", async () => {
    const router = configuredRouter({});
    const response = await admin(router, "GET", "/admin/keys");
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("ADMIN_API_KEY");
  });

  it("documents /v1 and /admin in /openapi.json from the validating schemas", async () => {
    const router = configuredRouter(VARS);
    const document = (await (await router.call("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        "/admin/keys",
        "/admin/keys/{id}",
        "/admin/keys/{id}/rotate",
        "/v1/chat/completions",
        "/v1/messages",
      ]),
    );
    const create = JSON.stringify(document.paths["/admin/keys"]?.post?.requestBody);
    expect(create).toContain("max_concurrency");
    expect(create).toContain("budget_period");
  });
});

describe("client answers", () => {
  it("routes with a managed key and sends upstream the router's own key", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const { key } = await createKey(router, {});
    const response = await chat(router, key);
    expect(response.status).toBe(200);
    const upstream = stub().calls.find((call) => call.url === UPSTREAM_CHAT_URL);
    expect(upstream?.headers.get("authorization")).toBe("Bearer cpk_upstream_secret");
    expect((await chat(router, "rk_static")).status).toBe(200);
  });

  it("hashes a managed key once, for admission and the sticky key alike, and not again on its next request", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const { key } = await createKey(router, {});
    const digest = vi.spyOn(crypto.subtle, "digest");
    const digestsOfKey = () =>
      digest.mock.calls.filter(([, data]) => new TextDecoder().decode(data as ArrayBuffer) === key).length;
    const first = await chat(router, key, { model: "chutesai/AutoPilot" });
    await first.text();
    expect(first.headers.get("x-chutes-autopilot-selected")).toBe(MODEL);
    expect(digestsOfKey()).toBe(1);
    await (await chat(router, key, { model: "chutesai/AutoPilot" })).text();
    expect(digestsOfKey()).toBe(1);
    digest.mockRestore();
  });

  it("answers 401 invalid_api_key to an unknown managed key and to the admin key", async () => {
    const router = configuredRouter(VARS);
    for (const key of [`sk-ap-${"x".repeat(43)}`, ADMIN]) {
      const response = await chat(router, key);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: "invalid_api_key" } });
    }
  });

  it("answers 403 model_not_allowed in OpenAI's shape and in Anthropic's", async () => {
    const router = configuredRouter(VARS);
    const { key } = await createKey(router, { models: ["chutesai/AutoPilot"] });
    const openai = await chat(router, key);
    expect(openai.status).toBe(403);
    expect(await openai.json()).toMatchObject({ error: { code: "model_not_allowed", param: "model" } });
    const anthropic = await router.call("/v1/messages", {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: MODEL, max_tokens: 10, messages: MESSAGES }),
    });
    expect(anthropic.status).toBe(403);
    expect(await anthropic.json()).toMatchObject({ type: "error", error: { type: "permission_error" } });
  });

  it("holds rpm fleet-wide under parallel requests, with retry-after and x-ratelimit headers", async () => {
    const first = configuredRouter(VARS);
    const second = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const { key } = await createKey(first, { rpm: 4 });
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => chat(i % 2 === 0 ? first : second, key)),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((code) => code === 200)).toHaveLength(4);
    expect(statuses.filter((code) => code === 429)).toHaveLength(6);
    const limited = responses.find((response) => response.status === 429) as Response;
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("x-ratelimit-limit-requests")).toBe("4");
    expect(limited.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(limited.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+s$/);
    expect(await limited.json()).toMatchObject({ error: { code: "rate_limit_exceeded", type: "requests" } });
  });

  it("holds max_concurrency: a third stream waits for one of two to end", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: streamBody(sseChunks(3, true), "stall").behavior });
    const { key } = await createKey(router, { max_concurrency: 2 });
    const streams = [await chat(router, key, { stream: true }), await chat(router, key, { stream: true })];
    const readers = streams.map((response) => (response.body as ReadableStream).getReader());
    for (const reader of readers) await reader.read();
    const third = await chat(router, key, { stream: true });
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });
    await readers[0]?.cancel();
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    expect((await chat(router, key)).status).toBe(200);
    await readers[1]?.cancel();
    await router.drain();
  });

  it("never lets parallel requests spend past the budget when they ask for max_tokens", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const budget = ANSWER_USD * 3.5;
    const { id, key } = await createKey(router, { budget_usd: budget });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => chat(router, key, { max_tokens: USAGE.completion_tokens })),
    );
    const ok = responses.filter((response) => response.status === 200).length;
    expect(ok).toBe(3);
    const refused = responses.find((response) => response.status === 402) as Response;
    expect(await refused.json()).toMatchObject({
      error: { code: "budget_exceeded", type: "insufficient_quota" },
    });
    await Promise.all(
      responses.filter((response) => response !== refused).map((response) => response.text()),
    );
    await router.drain();
    const shown = await showKey(router, id);
    expect(shown.spend.usd).toBeCloseTo(ok * ANSWER_USD, 12);
    expect(shown.spend.usd).toBeLessThanOrEqual(budget);
    expect(shown.usage).toMatchObject({ requests: 3, prompt_tokens: 60, completion_tokens: 1500 });
    expect((await chat(router, key, { max_tokens: USAGE.completion_tokens })).status).toBe(402);
  });
});

describe("the Anthropic ingress", () => {
  function messages(router: Router, key: string, body: Record<string, unknown> = {}) {
    return router.call("/v1/messages", {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: MODEL,
        max_tokens: USAGE.completion_tokens,
        messages: MESSAGES,
        ...body,
      }),
    });
  }

  it("counts every refusal in requests_total by status, as /v1/chat/completions does", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    // Each route gets its own keys: a key whose one request a minute is spent, one whose budget cannot cover
    // the output asked for, one that may not use the model.
    const refusalsOn = async (send: typeof chat) => {
      const narrow = await createKey(router, { models: ["chutesai/AutoPilot"] });
      const poor = await createKey(router, { budget_usd: ANSWER_USD / 2 });
      const limited = await createKey(router, { rpm: 1 });
      await (await send(router, limited.key)).text();
      const statuses = [
        (await send(router, narrow.key)).status,
        (await send(router, poor.key, { max_tokens: USAGE.completion_tokens })).status,
        (await send(router, poor.key, { model: "nobody/unknown-model" })).status,
        (await send(router, limited.key)).status,
        (await send(router, "sk-ap-not-a-key")).status,
      ];
      await router.drain();
      await settleOutcomes();
      return statuses;
    };
    const requestsTotal = async () => {
      const response = await router.call("/metrics", { headers: { authorization: `Bearer ${ADMIN}` } });
      const family = parsePrometheusTextFormat(await response.text()).find(
        (metric) => metric.name === "chutes_autopilot_requests_total",
      );
      return Object.fromEntries(
        (family?.metrics ?? []).map((sample) => [sample.labels?.status, Number(sample.value)]),
      );
    };
    const before = await requestsTotal();
    expect(await refusalsOn(messages)).toEqual([403, 402, 400, 429, 401]);
    const afterMessages = await requestsTotal();
    expect(await refusalsOn(chat)).toEqual([403, 402, 400, 429, 401]);
    const afterChat = await requestsTotal();
    for (const status of ["400", "401", "402", "403", "429"]) {
      const onMessages = (afterMessages[status] ?? 0) - (before[status] ?? 0);
      expect(onMessages, `status ${status} on /v1/messages`).toBe(1);
      expect((afterChat[status] ?? 0) - (afterMessages[status] ?? 0), `status ${status} on chat`).toBe(1);
    }
  });

  it("is metered like chat: its answers spend the key's budget", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const { id, key } = await createKey(router, {});
    const answer = await messages(router, key);
    expect(answer.status).toBe(200);
    await answer.text();
    await router.drain();
    const shown = await showKey(router, id);
    expect(shown.usage).toMatchObject({ requests: 1, prompt_tokens: 20, completion_tokens: 500 });
    expect(shown.spend.usd).toBeCloseTo(ANSWER_USD, 12);
  });

  it("answers a spent budget with 402 billing_error and a rate limit with 429 rate_limit_error", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const poor = await createKey(router, { budget_usd: ANSWER_USD / 2 });
    const broke = await messages(router, poor.key);
    expect(broke.status).toBe(402);
    expect(await broke.json()).toMatchObject({ type: "error", error: { type: "billing_error" } });
    const limited = await createKey(router, { rpm: 1 });
    await (await messages(router, limited.key)).text();
    const second = await messages(router, limited.key);
    expect(second.status).toBe(429);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(second.headers.get("x-ratelimit-limit-requests")).toBe("1");
    expect(await second.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    await router.drain();
  });
});

describe("spend from streams", () => {
  it("charges a complete stream from its final usage chunk", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: streamBody(sseChunks(5, true), "close").behavior });
    const { id, key } = await createKey(router, {});
    await (await chat(router, key, { stream: true })).text();
    await router.drain();
    const shown = await showKey(router, id);
    expect(shown.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 500 });
    expect(shown.spend.usd).toBeCloseTo(ANSWER_USD, 12);
  });

  it("charges a stream without a usage chunk for the chunks it sent", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: streamBody(sseChunks(7, false), "close").behavior });
    const { id, key } = await createKey(router, {});
    await (await chat(router, key, { stream: true })).text();
    await router.drain();
    const shown = await showKey(router, id);
    expect(shown.usage.completion_tokens).toBe(7);
    expect(shown.usage.prompt_tokens).toBeGreaterThan(0);
    expect(shown.spend.usd).toBeGreaterThan(0);
  });

  it("charges a stream the client cancelled for what it received", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: streamBody(sseChunks(50, true), "close").behavior });
    const { id, key } = await createKey(router, {});
    const reader = ((await chat(router, key, { stream: true })).body as ReadableStream).getReader();
    for (let i = 0; i < 4; i++) await reader.read();
    await reader.cancel();
    await router.drain();
    const shown = await showKey(router, id);
    expect(shown.usage.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(shown.usage.completion_tokens).toBeLessThan(50);
    expect(shown.spend.usd).toBeGreaterThan(0);
  });

  it("counts tokens and spend per model in /metrics, which takes the admin key", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const { key } = await createKey(router, {});
    await (await chat(router, key)).text();
    await router.drain();
    await settleOutcomes();
    expect((await router.call("/metrics", { headers: { authorization: "Bearer rk_static" } })).status).toBe(
      401,
    );
    const metrics = await (
      await router.call("/metrics", { headers: { authorization: `Bearer ${ADMIN}` } })
    ).text();
    expect(metrics).toMatch(
      new RegExp(`chutes_autopilot_tokens_total\\{model="${MODEL}",kind="completion"\\} \\d+`),
    );
    expect(metrics).toMatch(new RegExp(`chutes_autopilot_spend_usd_total\\{model="${MODEL}"\\} [0-9.e-]+`));
  });
});

describe("the status page", () => {
  it("shows the operator each key's spend against budget, use and limits, for the admin key only", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const { id, key, prefix } = await createKey(router, { name: "search team", budget_usd: 2, rpm: 30 });
    await (await chat(router, key)).text();
    await router.drain();
    expect((await router.call("/status", { headers: { authorization: "Bearer rk_static" } })).status).toBe(
      401,
    );
    const page = await (
      await router.call("/status", { headers: { authorization: `Bearer ${ADMIN}` } })
    ).text();
    const row = page.slice(page.indexOf(`data-key="${id}"`));
    expect(row).toContain(`${prefix}…`);
    expect(row).toContain("search team");
    expect(row).toContain(`${ANSWER_USD.toFixed(4)} / 2 per total`);
    expect(row).toContain("30 rpm");
    expect(page).not.toContain(key);
  });
});

describe("a key's life", () => {
  it("is refused everywhere within 5 s of its revocation", async () => {
    const warm = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const { id, key } = await createKey(warm, {});
    expect((await chat(warm, key)).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    const revokedAt = Date.now();
    expect((await admin(warm, "DELETE", `/admin/keys/${id}`)).status).toBe(200);
    const cold = configuredRouter(VARS);
    expect((await chat(cold, key)).status).toBe(401);
    vi.setSystemTime(revokedAt + 4_100);
    const late = await chat(warm, key);
    expect(late.status).toBe(401);
    expect((await showKey(warm, id)).status).toBe("revoked");
  });

  it("keeps the old secret working through a rotation's grace period, then refuses it", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    const { id, key: old } = await createKey(router, {});
    vi.useFakeTimers({ toFake: ["Date"] });
    const rotatedAt = Date.now();
    const rotated = await admin(router, "POST", `/admin/keys/${id}/rotate`, { grace_seconds: 60 });
    const { key: fresh } = (await rotated.json()) as { key: string };
    expect(fresh).not.toBe(old);
    expect((await chat(router, fresh)).status).toBe(200);
    expect((await chat(router, old)).status).toBe(200);
    expect((await showKey(router, id)).previous_key_valid_until).not.toBeNull();
    vi.setSystemTime(rotatedAt + 61_000);
    expect((await chat(router, old)).status).toBe(401);
    expect((await chat(router, fresh)).status).toBe(200);
  });

  it("stops working at expires_at", async () => {
    const router = configuredRouter(VARS);
    serveUpstream(stub(), { [MODEL]: jsonWithUsage() });
    vi.useFakeTimers({ toFake: ["Date"] });
    const now = Date.now();
    const { id, key } = await createKey(router, { expires_at: new Date(now + 60_000).toISOString() });
    expect((await chat(router, key)).status).toBe(200);
    vi.setSystemTime(now + 60_001);
    expect((await chat(router, key)).status).toBe(401);
    expect((await showKey(router, id)).status).toBe("expired");
  });
});
