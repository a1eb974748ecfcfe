// What Chutes really answers, end to end through the router (research/COVERAGE_MATRIX.md): each fixture is a
// live Chutes capture (2026-02-18) copied byte for byte, or a body built from the public chutes-api source.
// Passed-through bodies are compared as exact bytes; failovers by the models the router called.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import INVALID_TOKEN_401 from "../fixtures/chutes-401-invalid-token.json?raw";
import QUOTA_402 from "../fixtures/chutes-402-quota.json?raw";
import QUOTA_WITH_RESET_402 from "../fixtures/chutes-402-quota-with-reset.json?raw";
import EDGE_NGINX_429 from "../fixtures/chutes-429-edge-nginx.html?raw";
import INFRA_OVERLOAD_429 from "../fixtures/chutes-429-infra-overload.json?raw";
import MAINTENANCE_429 from "../fixtures/chutes-429-maintenance.json?raw";
import NO_TARGETS_429 from "../fixtures/chutes-429-no-targets.json?raw";
import USER_DUPLICATE_PROMPT_429 from "../fixtures/chutes-429-user-duplicate-prompt.json?raw";
import USER_FREE_MODEL_LIMIT_429 from "../fixtures/chutes-429-user-free-model-limit.json?raw";
import USER_RATE_LIMIT_429 from "../fixtures/chutes-429-user-rate-limit.json?raw";
import CHUTE_DISABLED_503 from "../fixtures/chutes-503-chute-disabled.json?raw";
import NO_INSTANCES_503 from "../fixtures/chutes-503-no-instances.json?raw";
import LIVE_MODELS from "../fixtures/chutes-models-live-entries.json";
import LIVE_UTILIZATION_ROWS from "../fixtures/chutes-utilization-live-rows.json";
import { controlPlaneStub as controlPlane } from "../src/state/control-plane.ts";
import { HEALTHY_RANKING, serveFeed } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, resetControlPlane, runCron } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { jsonResponse } from "./support/stub-fetch.ts";
import { calledModels, serveUpstream, status, UPSTREAM_CHAT_URL } from "./support/upstream.ts";

const [ALPHA, BETA, GAMMA_TEE] = HEALTHY_RANKING as [string, string, string];
const ALIAS = "chutesai/AutoPilot";
const TEE_ALIAS = "chutesai/AutoPilot-TEE";
// The two models of the live-entries fixture, best first by docs/contract.md §4 on their real utilization rows.
const LIVE_QWEN = "Qwen/Qwen3-32B";
const LIVE_DEEPSEEK_TEE = "deepseek-ai/DeepSeek-V3-0324-TEE";
// The shape of a Chutes key (cpk_<32 hex>.<32 hex>.<32 alnum>); not a real key, so the secret scan is told.
const CHUTES_KEY =
  // secretlint-disable-next-line @secretlint/secretlint-rule-pattern
  "cpk_0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210.AbCdEfGhIjKlMnOpQrStUvWxYz012345";

const stub = useRoutingFixture();

function ask(model = ALIAS, headers: Record<string, string> = {}): Promise<Response> {
  return callRouter("/v1/chat/completions", chatRequest({ model, messages: MESSAGES }, headers));
}

function upstreamHeaders(): Headers {
  const call = stub().calls.find((c) => c.url === UPSTREAM_CHAT_URL);
  if (!call) throw new Error("no upstream call");
  return call.headers;
}

/** Replaces the healthy feeds with the real-shaped ones, from an empty control plane (the allowlist is cached). */
async function serveLiveFeeds(): Promise<void> {
  await resetControlPlane();
  serveFeed(stub(), "utilization", () => jsonResponse(LIVE_UTILIZATION_ROWS));
  serveFeed(stub(), "models", () => jsonResponse(LIVE_MODELS));
  await runCron();
}

describe("Chutes answers the router passes through untouched", () => {
  it("passes Chutes' 401 Invalid token body through byte for byte without trying another model", async () => {
    serveUpstream(stub(), { [ALPHA]: status(401, INVALID_TOKEN_401) });
    const response = await ask(ALIAS, { authorization: "Bearer invalid-token" });
    expect(response.status).toBe(401);
    expect(await response.text()).toBe('{"detail":"Invalid token."}');
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(upstreamHeaders().get("authorization")).toBe("Bearer invalid-token");
    expect(calledModels(stub())).toEqual([ALPHA]);
  });

  it("passes the edge's nginx HTML 429 through byte for byte, CRLF line ends included, without trying another model", async () => {
    expect(EDGE_NGINX_429).toHaveLength(162);
    serveUpstream(stub(), { [ALPHA]: status(429, EDGE_NGINX_429, "text/html") });
    const response = await ask();
    expect(response.status).toBe(429);
    expect(await response.text()).toBe(EDGE_NGINX_429);
    expect(response.headers.get("content-type")).toBe("text/html");
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("1");
    expect(upstreamHeaders().has("authorization")).toBe(false);
    expect(calledModels(stub())).toEqual([ALPHA]);
  });

  it.each([
    ["the duplicate-prompt guard", USER_DUPLICATE_PROMPT_429],
    ["the per-user rate limit", USER_RATE_LIMIT_429],
    ["the daily free-model limit", USER_FREE_MODEL_LIMIT_429],
  ])(
    "passes a per-user 429 from %s through byte for byte without trying another model",
    async (_name, body) => {
      serveUpstream(stub(), { [ALPHA]: status(429, body) });
      const response = await ask();
      expect(response.status).toBe(429);
      expect(await response.text()).toBe(body);
      expect(calledModels(stub())).toEqual([ALPHA]);
    },
  );

  it.each([
    ["with a text detail", QUOTA_402],
    ["with a detail object and quota reset time", QUOTA_WITH_RESET_402],
  ])(
    "passes Chutes' 402 quota answer %s through byte for byte without trying another model",
    async (_name, body) => {
      serveUpstream(stub(), { [ALPHA]: status(402, body) });
      const response = await ask();
      expect(response.status).toBe(402);
      expect(await response.text()).toBe(body);
      expect(calledModels(stub())).toEqual([ALPHA]);
    },
  );
});

describe("Chutes answers that mean a model cannot serve right now", () => {
  it.each([
    ["infra_overload (maximum capacity)", INFRA_OVERLOAD_429],
    ["no_targets", NO_TARGETS_429],
    ["model is under maintenance", MAINTENANCE_429],
  ])(
    "moves on to the next model when Chutes answers 429 %s, and the client gets that model's answer",
    async (_name, body) => {
      serveUpstream(stub(), { [ALPHA]: status(429, body) });
      const response = await ask();
      expect(response.status).toBe(200);
      expect(((await response.json()) as { model: string }).model).toBe(BETA);
      expect(response.headers.get("x-chutes-autopilot-selected")).toBe(BETA);
      expect(calledModels(stub())).toEqual([ALPHA, BETA]);
    },
  );

  it("passes the last overload 429 through byte for byte when every model is overloaded", async () => {
    serveUpstream(stub(), {
      [ALPHA]: status(429, INFRA_OVERLOAD_429),
      [BETA]: status(429, NO_TARGETS_429),
      [GAMMA_TEE]: status(429, MAINTENANCE_429),
    });
    const response = await ask();
    expect(response.status).toBe(429);
    expect(await response.text()).toBe(MAINTENANCE_429);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(GAMMA_TEE);
    expect(calledModels(stub())).toEqual([ALPHA, BETA, GAMMA_TEE]);
  });

  it.each([
    ["No instances available (yet)", NO_INSTANCES_503],
    ["This chute is currently disabled", CHUTE_DISABLED_503],
  ])("moves on to the next model when Chutes answers 503 %s", async (_name, body) => {
    serveUpstream(stub(), { [ALPHA]: status(503, body) });
    const response = await ask();
    expect(response.status).toBe(200);
    expect(((await response.json()) as { model: string }).model).toBe(BETA);
    expect(calledModels(stub())).toEqual([ALPHA, BETA]);
  });

  it("passes Chutes' 503 No instances available through byte for byte when no model has an instance up", async () => {
    serveUpstream(stub(), {
      [ALPHA]: status(503, NO_INSTANCES_503),
      [BETA]: status(503, NO_INSTANCES_503),
      [GAMMA_TEE]: status(503, NO_INSTANCES_503),
    });
    const response = await ask();
    expect(response.status).toBe(503);
    expect(await response.text()).toBe(NO_INSTANCES_503);
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("3");
    expect(calledModels(stub())).toEqual([ALPHA, BETA, GAMMA_TEE]);
  });

  it("fails over from overload 429s at once though Chutes sends no Retry-After, and adds none to the 429 it passes on", async () => {
    serveUpstream(stub(), {
      [ALPHA]: status(429, INFRA_OVERLOAD_429),
      [BETA]: status(429, INFRA_OVERLOAD_429),
      [GAMMA_TEE]: status(429, INFRA_OVERLOAD_429),
    });
    const startedMs = Date.now();
    const response = await ask();
    expect(await response.text()).toBe(INFRA_OVERLOAD_429);
    expect(Date.now() - startedMs).toBeLessThan(1000);
    expect(response.headers.has("retry-after")).toBe(false);
    expect(calledModels(stub())).toEqual([ALPHA, BETA, GAMMA_TEE]);
  });
});

describe("Chutes keys", () => {
  it.each([
    ["after Bearer", `Bearer ${CHUTES_KEY}`],
    ["bare", CHUTES_KEY],
  ])("forwards a Chutes key written %s exactly as the client sent it", async (_form, authorization) => {
    serveUpstream(stub(), {});
    const response = await ask(ALPHA, { authorization });
    expect(response.status).toBe(200);
    expect(upstreamHeaders().get("authorization")).toBe(authorization);
  });
});

describe("Chutes feeds as they really look", () => {
  it("lists Chutes' models after the two aliases with every field Chutes sent, confidential_compute included", async () => {
    await serveLiveFeeds();
    const response = await callRouter("/v1/models");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Array<Record<string, unknown>> };
    expect(body.data.map((model) => model.id)).toEqual([ALIAS, TEE_ALIAS, LIVE_QWEN, LIVE_DEEPSEEK_TEE]);
    // Every field as sent, plus the window the router routes by (the smaller of context_length and max_model_len).
    expect(body.data.slice(2)).toEqual(
      LIVE_MODELS.data.map((model) => ({
        ...model,
        context_window: Math.min(model.context_length, model.max_model_len),
      })),
    );
  });

  it("routes the TEE alias only to the model Chutes marks confidential_compute, without asking Chutes for attestation evidence", async () => {
    await serveLiveFeeds();
    serveUpstream(stub(), {});
    const response = await ask(TEE_ALIAS);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(LIVE_DEEPSEEK_TEE);
    expect(calledModels(stub())).toEqual([LIVE_DEEPSEEK_TEE]);
    expect(stub().calls.filter((call) => new URL(call.url).pathname.includes("/evidence"))).toEqual([]);
  });

  it("routes the plain alias over public chutes listed in /v1/models only, keeping every real utilization row", async () => {
    await serveLiveFeeds();
    serveUpstream(stub(), {
      [LIVE_QWEN]: status(503, NO_INSTANCES_503),
      [LIVE_DEEPSEEK_TEE]: status(503, NO_INSTANCES_503),
    });
    const response = await ask();
    expect(response.status).toBe(503);
    expect(calledModels(stub())).toEqual([LIVE_QWEN, LIVE_DEEPSEEK_TEE]);
    const view = await controlPlane(env).getView();
    expect(view.utilization).toMatchObject({ lastError: null, skippedRows: 0 });
  });
});
