import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import MODELS_EMPTY from "../fixtures/models-empty.json";
import { app } from "../src/app.ts";
import { controlPlaneStub as controlPlane } from "../src/state/control-plane.ts";
import { HEALTHY_RANKING, MODELS_HEALTHY, serveFeed, serveHealthyFeeds } from "./support/feeds.ts";
import { callRouter, forgetCachedView, resetControlPlane, runCron } from "./support/router.ts";
import { type FetchStub, jsonResponse, stubFetch } from "./support/stub-fetch.ts";

// The Worker always talks to the one control-plane object, so each test starts it empty, as on a first deploy.
let stub: FetchStub;
beforeEach(async () => {
  stub = stubFetch();
  await resetControlPlane();
});
afterEach(() => {
  stub.restore();
  vi.useRealTimers();
});

async function readyz(): Promise<{ status: number; body: string }> {
  const response = await callRouter("/readyz");
  return { status: response.status, body: await response.text() };
}

describe("GET /healthz", () => {
  it("answers 200 ok with a request id", async () => {
    const response = await callRouter("/healthz");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("GET /readyz", () => {
  it("is not ready before the first refresh: missing_allowlist", async () => {
    const { status, body } = await readyz();
    expect(status).toBe(503);
    expect(JSON.parse(body)).toEqual({
      error: { type: "not_ready", code: "missing_allowlist", message: expect.any(String), param: null },
    });
  });

  it("becomes ready after a cron refresh, and goes stale as time passes without one", async () => {
    serveHealthyFeeds(stub);
    await runCron();
    expect(await readyz()).toEqual({ status: 200, body: "ready" });

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 20_001);
    forgetCachedView();
    const stale = await readyz();
    expect(stale.status).toBe(503);
    expect(JSON.parse(stale.body).error.code).toBe("stale_snapshot");
  });

  it("stays on last-known-good when the feeds fail, until the age limit", async () => {
    serveHealthyFeeds(stub);
    await runCron();
    serveFeed(stub, "utilization", () => jsonResponse({ detail: "down" }, 503));
    await runCron();
    expect((await readyz()).status).toBe(200);
  });

  it("reports stale_allowlist once the allowlist is older than its limit", async () => {
    serveHealthyFeeds(stub);
    await runCron();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 600_001);
    serveFeed(stub, "models", () => jsonResponse({ detail: "down" }, 503));
    await runCron();
    const response = await readyz();
    expect(JSON.parse(response.body).error.code).toBe("stale_allowlist");
  });

  it("reports no_candidates when no allowlisted model has an active instance", async () => {
    serveHealthyFeeds(stub);
    serveFeed(stub, "utilization", () => jsonResponse([]));
    await runCron();
    expect(JSON.parse((await readyz()).body).error.code).toBe("no_candidates");
  });

  it("reports allowlist_empty when the models feed succeeds with no models", async () => {
    serveHealthyFeeds(stub);
    serveFeed(stub, "models", () => jsonResponse(MODELS_EMPTY));
    await runCron();
    expect(JSON.parse((await readyz()).body).error.code).toBe("allowlist_empty");
  });

  it("reports invalid_config naming the variable before looking at any data", async () => {
    const response = await app.fetch(new Request("http://router.test/readyz"), {
      ...env,
      MAX_ATTEMPTS: "lots",
    });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string; type: string } };
    expect(body.error.type).toBe("not_ready");
    expect(body.error.code).toBe("invalid_config");
    expect(body.error.message).toContain("MAX_ATTEMPTS");
  });
});

describe("GET /v1/models", () => {
  it("lists both aliases first, with the best their candidates offer, then every model with its metadata and window", async () => {
    serveHealthyFeeds(stub);
    await runCron();
    const response = await callRouter("/v1/models");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { object: string; data: Array<Record<string, unknown>> };
    expect(body.object).toBe("list");
    const alias = { object: "model", created: 0, owned_by: "autopilot", max_output_length: null };
    expect(body.data.slice(0, 2)).toEqual([
      {
        id: "chutesai/AutoPilot",
        ...alias,
        // alpha: 131,072 tokens with tools and JSON mode; beta and gamma state no features.
        context_length: 131_072,
        input_modalities: ["text"],
        supported_features: ["tools", "json_mode"],
        context_length_with: { tools: 131_072 },
      },
      {
        id: "chutesai/AutoPilot-TEE",
        ...alias,
        context_length: 65_536,
        input_modalities: ["text"],
        supported_features: [],
        context_length_with: {},
      },
    ]);
    expect(body.data.slice(2)).toEqual(
      MODELS_HEALTHY.data.map((model) => ({
        ...model,
        context_window: Math.min(model.context_length, model.max_model_len ?? Infinity),
      })),
    );
  });

  it("answers 500 invalid_config when the configuration is bad", async () => {
    const response = await app.fetch(new Request("http://router.test/v1/models"), {
      ...env,
      MODELS_URL: "file:///etc",
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: {
        type: "server_error",
        code: "invalid_config",
        param: null,
        message: expect.stringContaining("MODELS_URL"),
      },
    });
  });
});

describe("GET /status", () => {
  it("answers JSON with feed ages, counts and the ranked candidates with scores and breaker phase", async () => {
    serveHealthyFeeds(stub);
    await runCron();
    const response = await callRouter("/status", { headers: { accept: "application/json" } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      ready: boolean;
      feeds: { utilization: { ageMs: number } };
      counts: { allowlist: number; candidates: number };
      candidates: Array<{ rank: number; name: string; score: number; breaker: string }>;
    };
    expect(body.ready).toBe(true);
    expect(body.feeds.utilization.ageMs).toBeGreaterThanOrEqual(0);
    expect(body.counts).toEqual({ allowlist: 4, candidates: 3 });
    expect(body.candidates.map((c) => c.name)).toEqual(HEALTHY_RANKING);
    expect(body.candidates[0]).toMatchObject({ rank: 1, breaker: "closed" });
    expect(body.candidates[0]?.score).toBeCloseTo(8, 10);
  });
});

describe("unknown routes and methods", () => {
  it("answers an OpenAI-shaped 404 not_found for an unknown path", async () => {
    const response = await callRouter("/v2/everything");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(await response.json()).toEqual({
      error: { type: "invalid_request_error", code: "not_found", param: null, message: expect.any(String) },
    });
  });

  it("answers 405 method_not_allowed with an Allow header for a known path", async () => {
    const response = await callRouter("/v1/models", { method: "DELETE" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
  });
});

describe("unknown routes and methods under /v1/messages", () => {
  it.each([
    ["GET", "/v1/messages", 405, "invalid_request_error"],
    ["PUT", "/v1/messages/count_tokens", 405, "invalid_request_error"],
    ["POST", "/v1/messages/batches", 404, "not_found_error"],
  ])("answers %s %s with %i in Anthropic's error shape", async (method, path, status, type) => {
    const response = await callRouter(path, { method });
    expect(response.status).toBe(status);
    if (status === 405) expect(response.headers.get("allow")).toBe("POST");
    const requestId = response.headers.get("request-id");
    expect(requestId).toBeTruthy();
    expect(response.headers.get("x-request-id")).toBe(requestId);
    expect(await response.json()).toEqual({
      type: "error",
      error: { type, message: expect.any(String) },
      request_id: requestId,
    });
  });
});

describe("cron trigger", () => {
  it("refreshes the snapshot through the control-plane object", async () => {
    serveHealthyFeeds(stub);
    await runCron();
    const view = await controlPlane(env).getView();
    expect(view.candidates.map((c) => c.name)).toEqual(HEALTHY_RANKING);
    expect(stub.calls.map((request) => new URL(request.url).pathname)).toContain("/chutes/utilization");
  });
});
