// POST /v1/chat/completions and /v1/completions: auth, body, mode, candidates, failover, then the answer
// (SPEC §3, §5–§9). Reads clock, config and caches once, lets core decide, and reports outcomes off the
// critical path. Direct mode never waits on a Durable Object; alias waits only when its isolate has no view;
// alias and list wait on a sticky shard only on a local sticky-cache miss.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { breakerOptionsOf } from "../config.ts";
import { queueOutcome } from "../control/outcome-reporter.ts";
import { claimProbes, probingModels } from "../control/probes.ts";
import { type CachedView, loadRoutingViewForRequest, peekRoutingView } from "../control/routing-view.ts";
import { lookupSticky, settleSticky } from "../control/sticky-client.ts";
import { isAllowedKey } from "../core/api-keys.ts";
import { replaceModel } from "../core/body-rewrite.ts";
import { breakerPhase } from "../core/breaker.ts";
import { planCandidates } from "../core/candidates.ts";
import { readRequestedModel } from "../core/completion-body.ts";
import { findUnknownModels, resolveMode } from "../core/model-list.ts";
import { RouterError } from "../core/router-error.ts";
import { feedAgeMs } from "../core/snapshot.ts";
import { extractToken, stickyKey, stickySource } from "../core/sticky-key.ts";
import { runFailover } from "../upstream/failover.ts";
import { buildUpstreamHeaders } from "../upstream/headers.ts";
import { readBodyWithLimit } from "../upstream/read-body.ts";
import { respond } from "./completion-response.ts";
import { requireConfig } from "./config-guard.ts";

export const completionsRoutes = new Hono<AppEnv>();

for (const path of ["/chat/completions", "/completions"] as const) {
  completionsRoutes.post(path, requireConfig, async (c) => {
    const config = c.get("config");
    const startedMs = Date.now();
    const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
    const authorization = c.req.header("authorization") ?? null;
    const managed = config.routerApiKeys.length > 0;
    if (managed && !isAllowedKey(extractToken(authorization), config.routerApiKeys)) {
      throw new RouterError(401, "invalid_request_error", "invalid_api_key", "Invalid or missing API key");
    }

    const rawBody = await readBodyWithLimit(c.req.raw, config.maxRequestBytes);
    const requested = readRequestedModel(rawBody);
    const modeResult = resolveMode(requested, config);
    if (!modeResult.ok)
      throw new RouterError(400, "invalid_request_error", modeResult.code, modeResult.message, "model");
    const mode = modeResult.mode;
    const log = c.get("log").fields;
    log.mode = mode.kind;

    // Alias needs the ranking, so an isolate without any view waits for one; list and direct route without
    // one (no allowlist check, no breaker order) and load it behind, so they never wait on the object.
    const cached: CachedView | null =
      mode.kind === "alias"
        ? await loadRoutingViewForRequest(c.env, startedMs, waitUntil)
        : peekRoutingView(c.env, startedMs, waitUntil);
    const requestedModels = mode.kind === "list" ? mode.models : mode.kind === "direct" ? [mode.model] : [];
    const unknown = cached ? findUnknownModels(requestedModels, cached.allowlist) : [];
    if (unknown.length > 0) {
      throw new RouterError(
        400,
        "invalid_request_error",
        "unknown_model",
        `Unknown model: ${unknown.join(", ")}`,
        "model",
      );
    }

    const source =
      mode.kind === "direct" || config.stickyTtlSeconds === 0
        ? null
        : stickySource(
            {
              authorization,
              cfConnectingIp: c.req.header("cf-connecting-ip") ?? null,
              xForwardedFor: c.req.header("x-forwarded-for") ?? null,
            },
            config.trustProxyHeaders,
          );
    const key = source
      ? stickyKey(source, source.kind === "auth" ? await sha256Hex(source.token) : null)
      : null;
    const stickyModel = key ? await lookupSticky(c.env, key, startedMs) : null;

    const breakers = cached?.view.breakers ?? {};
    const breakerOptions = breakerOptionsOf(config);
    const candidates = planCandidates({
      mode,
      ranked: cached?.view.candidates ?? [],
      breakers,
      breakerOptions,
      probing: probingModels(),
      stickyModel,
      maxAttempts: config.maxAttempts,
      nowMs: startedMs,
    });
    log.candidates = candidates.length;
    log.snapshotAgeMs = cached ? feedAgeMs(cached.view.utilization, startedMs) : null;
    if (candidates.length === 0) {
      throw new RouterError(
        503,
        "server_error",
        "no_candidates",
        "No model is available to route this request to",
      );
    }

    const releaseProbes = claimProbes(
      candidates.filter((model) => breakerPhase(breakers[model], breakerOptions, startedMs) === "half_open"),
    );
    const result = await runFailover({
      candidates,
      url: `${config.upstreamBaseUrl}/v1${path}`,
      headers: buildUpstreamHeaders(c.req.raw.headers, managed ? config.upstreamApiKey : undefined),
      bodyFor: (model) => replaceModel(rawBody, model),
      headerTimeoutMs: config.upstreamHeaderTimeoutMs,
      firstByteTimeoutMs: config.upstreamFirstByteTimeoutMs,
      nowMs: () => Date.now(),
      clientSignal: c.req.raw.signal,
    }).finally(releaseProbes);

    log.attempts = result.attempts;
    log.selected = result.kind === "router_error" ? null : result.model;
    const attempts = result.attempts.map((a) => ({ model: a.model, result: a.outcome, reason: a.reason }));
    const stickyWrite = key
      ? settleSticky(key, {
          stickyModel,
          candidates,
          attempts,
          committedModel: result.kind === "committed" ? result.model : null,
          nowMs: Date.now(),
        })
      : null;
    const status =
      result.kind === "router_error"
        ? result.error.status
        : result.kind === "committed"
          ? result.outcome.response.status
          : result.response.status;
    queueOutcome(
      c.env,
      c.executionCtx,
      { status, selected: result.kind === "router_error" ? null : result.model, attempts },
      stickyWrite,
    );

    return respond(result, {
      requestId: c.get("requestId"),
      showSelected: mode.kind !== "direct",
      idleTimeoutMs: config.upstreamIdleTimeoutMs,
      startedMs,
      log: c.get("log"),
    });
  });
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
