// What operators see (docs/contract.md §11): one JSON log line per request that never carries a key, a prompt, a token
// hash or an IP; fleet-wide Prometheus metrics; the status page; and, in managed mode, keys on both.

import { env } from "cloudflare:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { controlPlaneStub as controlPlane } from "../src/state/control-plane.ts";
import { HEALTHY_RANKING, serveFeed, UTILIZATION_HEALTHY } from "./support/feeds.ts";
import { chatRequest } from "./support/requests.ts";
import { callRouter, callRouterWith, resetControlPlane, runCron, settle } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { jsonResponse } from "./support/stub-fetch.ts";
import { connectError, serveUpstream, sseEvents, status, streamBody } from "./support/upstream.ts";

const [ALPHA, BETA, GAMMA_TEE] = HEALTHY_RANKING as [string, string, string];
const stub = useRoutingFixture();

const CLIENT_KEY = "rk_log_client_secret_0123456789";
const UPSTREAM_KEY = "cpk_log_upstream_secret_abcdef";
const PROMPT = "my confidential prompt about project nightingale";
const CLIENT_IP = "203.0.113.99";
const MANAGED = { ROUTER_API_KEYS: `${CLIENT_KEY},rk_other`, UPSTREAM_API_KEY: UPSTREAM_KEY };

let consoleSpies: MockInstance[] = [];
beforeEach(() => {
  consoleSpies = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(() => {}),
  );
});
afterEach(() => {
  for (const spy of consoleSpies) spy.mockRestore();
});

function printed(): string {
  return consoleSpies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" "))).join("\n");
}

function requestLines(): Array<Record<string, unknown>> {
  return printed()
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes('"event":"request"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("request log", () => {
  it("writes one line per request with the routing facts, and never a key, prompt, token hash or IP", async () => {
    serveUpstream(stub(), {
      [ALPHA]: status(503, "{}"),
      [BETA]: streamBody(sseEvents(BETA, 3), "close").behavior,
    });
    const headers = {
      authorization: `Bearer ${CLIENT_KEY}`,
      "cf-connecting-ip": CLIENT_IP,
      "x-forwarded-for": CLIENT_IP,
    };
    const body = { model: "chutesai/AutoPilot", stream: true, messages: [{ role: "user", content: PROMPT }] };
    const streamed = await callRouterWith(MANAGED, "/v1/chat/completions", chatRequest(body, headers));
    await streamed.text();
    const whole = await callRouterWith(
      MANAGED,
      "/v1/chat/completions",
      chatRequest({ ...body, stream: false, model: GAMMA_TEE }, headers),
    );
    await whole.text();
    const denied = await callRouterWith(
      MANAGED,
      "/v1/chat/completions",
      chatRequest(body, { authorization: "Bearer rk_wrong" }),
    );
    await denied.text();
    await settle();

    const lines = requestLines();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      requestId: streamed.headers.get("x-request-id"),
      method: "POST",
      route: "/v1/chat/completions",
      mode: "alias",
      candidates: 3,
      selected: BETA,
      status: 200,
      streamEnd: "complete",
      attempts: [
        { model: ALPHA, outcome: "retryable", reason: "upstream_503", status: 503, ms: expect.any(Number) },
        { model: BETA, outcome: "committed", reason: null, status: 200, ms: expect.any(Number) },
      ],
    });
    expect(lines[0]?.ttfbMs).toEqual(expect.any(Number));
    expect(lines[0]?.durationMs).toEqual(expect.any(Number));
    expect(lines[0]?.snapshotAgeMs).toEqual(expect.any(Number));
    expect(lines[1]).toMatchObject({ mode: "direct", selected: GAMMA_TEE, status: 200 });
    expect(lines[2]).toMatchObject({ status: 401, errorCode: "invalid_api_key", attempts: [] });

    const everything = printed();
    for (const secret of [
      CLIENT_KEY,
      UPSTREAM_KEY,
      PROMPT,
      "nightingale",
      CLIENT_IP,
      await sha256Hex(CLIENT_KEY),
    ]) {
      expect(everything).not.toContain(secret);
    }
  });

  it("logs how a broken stream ended", async () => {
    serveUpstream(stub(), { [ALPHA]: streamBody(sseEvents(ALPHA, 3).slice(0, 1), "error").behavior });
    const response = await callRouter("/v1/chat/completions", chatRequest({ model: ALPHA, stream: true }));
    await response.text();
    expect(requestLines().at(-1)).toMatchObject({
      status: 200,
      streamEnd: "upstream_error",
      errorCode: "upstream_stream_error",
    });
  });

  it("logs requests the router refuses before routing, with their error code", async () => {
    await callRouter("/v1/chat/completions", chatRequest("{oops"));
    await callRouter("/nowhere");
    expect(requestLines().map((line) => [line.status, line.errorCode])).toEqual([
      [400, "invalid_json"],
      [404, null],
    ]);
  });
});

describe("GET /metrics", () => {
  async function scrape() {
    const response = await callRouter("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const families = parsePrometheusTextFormat(await response.text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      families
        .find((family) => family.name === `chutes_autopilot_${name}`)
        ?.metrics.find((sample) => Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v))?.value;
    return { families, value };
  }

  it("counts requests, selections and failover reasons fleet-wide, with the control-plane gauges", async () => {
    serveUpstream(stub(), {});
    for (let i = 0; i < 2; i++)
      await (await callRouter("/v1/chat/completions", chatRequest({ model: "chutesai/AutoPilot" }))).text();
    serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
    await (await callRouter("/v1/chat/completions", chatRequest({ model: "chutesai/AutoPilot" }))).text();
    serveUpstream(stub(), { [ALPHA]: connectError, [BETA]: connectError, [GAMMA_TEE]: connectError });
    await (await callRouter("/v1/chat/completions", chatRequest({ model: "chutesai/AutoPilot" }))).text();
    await settle();

    const { families, value } = await scrape();
    expect(families.find((f) => f.name === "chutes_autopilot_requests_total")?.type).toBe("COUNTER");
    expect(value("requests_total", { status: "200" })).toBe("3");
    expect(value("requests_total", { status: "502" })).toBe("1");
    expect(value("selection_total", { model: ALPHA, status: "200" })).toBe("2");
    expect(value("selection_total", { model: BETA, status: "200" })).toBe("1");
    expect(value("failover_reason_total", { reason: "upstream_503" })).toBe("1");
    expect(value("failover_reason_total", { reason: "upstream_connect_error" })).toBe("3");
    expect(value("breaker_open", { model: ALPHA })).toBe("0");
    expect(value("candidates")).toBe("3");
    expect(value("allowlist_size")).toBe("4");
    expect(Number(value("snapshot_age_ms"))).toBeGreaterThanOrEqual(0);
    expect(Number(value("allowlist_age_ms"))).toBeGreaterThanOrEqual(0);
  });

  it("counts the requests it refuses before routing too, by status", async () => {
    await callRouter("/v1/chat/completions", chatRequest("{oops"));
    await callRouter("/v1/completions", chatRequest({ model: " , ", prompt: "x" }));
    await callRouter("/v1/chat/completions", { method: "GET" });
    await callRouterWith(MANAGED, "/v1/chat/completions", chatRequest({ model: "chutesai/AutoPilot" }));
    await callRouter("/nowhere");
    await settle();

    const { value } = await scrape();
    expect(value("requests_total", { status: "400" })).toBe("2");
    expect(value("requests_total", { status: "405" })).toBe("1");
    expect(value("requests_total", { status: "401" })).toBe("1");
    expect(value("requests_total", { status: "404" })).toBeUndefined();
  });

  it("counts no_candidates on /v1/messages (529) as on /v1/chat/completions (503)", async () => {
    serveFeed(stub(), "utilization", () => jsonResponse([]));
    await runCron();
    const chat = await callRouter("/v1/chat/completions", chatRequest({ model: "chutesai/AutoPilot" }));
    const messages = await callRouter("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: "chutesai/AutoPilot",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    expect([chat.status, messages.status]).toEqual([503, 529]);
    expect(await messages.json()).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
    await settle();
    const { value } = await scrape();
    expect(value("requests_total", { status: "503" })).toBe("1");
    expect(value("requests_total", { status: "529" })).toBe("1");
  });

  it("shows an open breaker as 1", async () => {
    serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
    for (let i = 0; i < 3; i++)
      await (await callRouter("/v1/chat/completions", chatRequest({ model: "chutesai/AutoPilot" }))).text();
    await settle();
    const { value } = await scrape();
    expect(value("breaker_open", { model: ALPHA })).toBe("1");
    expect(value("breaker_open", { model: BETA })).toBe("0");
  });
});

describe("GET /status", () => {
  it("renders readiness, feed ages, the ranked candidates and recent failover reasons as HTML", async () => {
    serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
    await (await callRouter("/v1/chat/completions", chatRequest({ model: "chutesai/AutoPilot" }))).text();
    await settle();
    const response = await callRouter("/status", { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
    expect(html).toContain('<meta http-equiv="refresh" content="5"/>');
    expect(html).toContain('class="badge ok">ready<');
    const order = HEALTHY_RANKING.map((name) => html.indexOf(`data-model="${name}"`));
    expect(order.every((index) => index > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(html).toContain("8.00");
    expect(html).toContain('font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;');
    expect(html).toMatch(/data-reason="upstream_503"><td>upstream_503<\/td><td class="num">1<\/td>/);
  });

  it("escapes model names from the feeds", async () => {
    const hostile = "evil/<script>alert(1)</script>";
    const row = { ...UTILIZATION_HEALTHY[0], name: hostile };
    serveFeed(stub(), "utilization", () => jsonResponse([row]));
    serveFeed(stub(), "models", () => jsonResponse({ object: "list", data: [{ id: hostile }] }));
    await resetControlPlane();
    await controlPlane(env).refreshNow();
    const html = await (await callRouter("/status")).text();
    expect(html).toContain("evil/&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>");
  });
});

describe("managed mode on the operator pages", () => {
  it.each([["/status"], ["/metrics"]])(
    "%s needs a listed key, as Bearer or as the Basic auth password",
    async (path) => {
      const open = await callRouterWith(MANAGED, path);
      expect(open.status).toBe(401);
      expect(open.headers.get("www-authenticate")).toContain("Basic");
      expect(await open.text()).not.toContain("rk_");
      expect(
        (await callRouterWith(MANAGED, path, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).status,
      ).toBe(200);
      const basic = `Basic ${btoa(`operator:${CLIENT_KEY}`)}`;
      expect((await callRouterWith(MANAGED, path, { headers: { authorization: basic } })).status).toBe(200);
      expect(
        (
          await callRouterWith(MANAGED, path, {
            headers: { authorization: `Basic ${btoa("operator:nope")}` },
          })
        ).status,
      ).toBe(401);
    },
  );

  it.each([["/healthz"], ["/readyz"]])("%s stays open for probes", async (path) => {
    expect((await callRouterWith(MANAGED, path)).status).toBe(200);
  });
});
