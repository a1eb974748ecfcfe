// The routing view: what the control-plane object hands to isolates (ranked candidates, allowlist, feed
// freshness, breakers). Plain data, so it crosses Durable Object RPC as is.

import type { BreakerState } from "./breaker.ts";
import { capabilitiesByModel, type LearnedLimit, type ModelCapabilities } from "./capabilities.ts";
import type { ModelEntry, UtilizationRow } from "./feeds.ts";
import type { ModelStats } from "./model-health.ts";
import { type Candidate, rankCandidates } from "./ranking.ts";
import type { RolloutRoute } from "./rollout.ts";
import { type ModelPricing, pricingOf } from "./spend.ts";

/** Freshness of one feed. A failed refresh keeps `lastSuccessMs` (last-known-good, docs/contract.md §10). */
export interface FeedStatus {
  lastSuccessMs: number | null;
  lastAttemptMs: number | null;
  lastError: string | null;
  /** Rows dropped for wrong types in the last successful refresh. */
  skippedRows: number;
}

export interface RoutingView {
  /** Ranked best first (docs/contract.md §4), breakers not yet applied. */
  candidates: Candidate[];
  /** Allowlisted model ids, in feed order. */
  allowlist: string[];
  utilization: FeedStatus;
  models: FeedStatus;
  /** Per-model breaker state; a model absent here is closed. */
  breakers: Record<string, BreakerState>;
  /** What the fleet observed of each model's speed and failures (docs/contract.md §13). */
  health: Record<string, ModelStats>;
  /** Each allowlisted model's price from the models feed, for spend (docs/contract.md §15). */
  pricing: Record<string, ModelPricing>;
  /** What each allowlisted model can serve, from the models feed (docs/contract.md §16). */
  capabilities: Record<string, ModelCapabilities>;
  /** What engines' refusals taught the fleet since, until each entry's `untilMs` (§16). */
  limits: Record<string, LearnedLimit>;
  /** The rollouts that split requests now (docs/contract.md §18): running, paused and promoted ones. */
  rollouts?: RolloutRoute[];
}

export const EMPTY_FEED_STATUS: FeedStatus = {
  lastSuccessMs: null,
  lastAttemptMs: null,
  lastError: null,
  skippedRows: 0,
};

/** Age of a feed's last-known-good data, or null when it never succeeded. */
export function feedAgeMs(feed: FeedStatus, nowMs: number): number | null {
  return feed.lastSuccessMs === null ? null : Math.max(0, nowMs - feed.lastSuccessMs);
}

/** The last-known-good rows of both feeds with their freshness: what the control plane stores. */
export interface Feeds {
  utilization: { status: FeedStatus; rows: UtilizationRow[] };
  models: { status: FeedStatus; rows: ModelEntry[] };
}

export type FeedName = keyof Feeds;

/** An empty feed pair, as on a first deploy. */
export function emptyFeeds(): Feeds {
  return {
    utilization: { status: { ...EMPTY_FEED_STATUS }, rows: [] },
    models: { status: { ...EMPTY_FEED_STATUS }, rows: [] },
  };
}

/** The routing view of stored feeds, breakers, model health and learned limits. */
export function buildView(
  feeds: Feeds,
  breakers: RoutingView["breakers"],
  health: RoutingView["health"],
  limits: RoutingView["limits"] = {},
): RoutingView {
  return {
    candidates: rankSnapshot(feeds.utilization.rows, feeds.models.rows),
    allowlist: feeds.models.rows.map((model) => model.id),
    utilization: feeds.utilization.status,
    models: feeds.models.status,
    breakers,
    health,
    pricing: pricesOf(feeds.models.rows),
    capabilities: capabilitiesByModel(feeds.models.rows),
    limits,
  };
}

function pricesOf(models: readonly ModelEntry[]): Record<string, ModelPricing> {
  const prices: Record<string, ModelPricing> = {};
  for (const model of models) {
    const pricing = pricingOf(model);
    if (pricing) prices[model.id] = pricing;
  }
  return prices;
}

/** Ranks utilization rows against the allowlist models (docs/contract.md §4 eligibility and order). */
export function rankSnapshot(rows: readonly UtilizationRow[], models: readonly ModelEntry[]): Candidate[] {
  const confidential = new Set(
    models.filter((model) => model.confidential_compute === true).map((m) => m.id),
  );
  const ids = new Set(models.map((model) => model.id));
  return rankCandidates(
    rows,
    { has: (name) => ids.has(name), isConfidential: (name) => confidential.has(name) },
    ids.size,
  );
}
