// GET /status as JSON: readiness, feed freshness, counts and the ranked candidates with their breaker phase.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { loadRoutingView } from "../control/routing-view.ts";
import { breakerPhase } from "../core/breaker.ts";
import { type FeedStatus, feedAgeMs } from "../core/snapshot.ts";
import { requireConfig } from "./config-guard.ts";
import { checkReadiness } from "./health.ts";

export const statusRoutes = new Hono<AppEnv>();

statusRoutes.get("/status", requireConfig, async (c) => {
  const nowMs = Date.now();
  const config = c.get("config");
  const [{ view }, readiness] = await Promise.all([
    loadRoutingView(c.env, nowMs),
    checkReadiness(c.env, nowMs),
  ]);
  const breakerOptions = {
    failureThreshold: config.breakerFailureThreshold,
    cooldownMs: config.breakerCooldownMs,
  };
  return c.json({
    ready: readiness.ready,
    notReadyCode: readiness.ready ? null : readiness.code,
    feeds: { utilization: describeFeed(view.utilization, nowMs), models: describeFeed(view.models, nowMs) },
    counts: { allowlist: view.allowlist.length, candidates: view.candidates.length },
    candidates: view.candidates.map((candidate, index) => ({
      rank: index + 1,
      ...candidate,
      breaker: breakerPhase(view.breakers[candidate.name], breakerOptions, nowMs),
    })),
  });
});

function describeFeed(feed: FeedStatus, nowMs: number) {
  return {
    ageMs: feedAgeMs(feed, nowMs),
    lastAttemptAgeMs: feed.lastAttemptMs === null ? null : Math.max(0, nowMs - feed.lastAttemptMs),
    lastError: feed.lastError,
    skippedRows: feed.skippedRows,
  };
}
