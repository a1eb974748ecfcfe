// What the status page and its JSON show, computed once from the control plane's metrics.

import type { Config } from "../config.ts";
import { type BreakerPhase, breakerPhase } from "../core/breaker.ts";
import { modeModels } from "../core/candidates.ts";
import {
  type CapabilitySummary,
  summarizeCapabilities,
  UNKNOWN_CAPABILITIES,
  withLimit,
} from "../core/capabilities.ts";
import { type HealthPhase, healthPhase, recentTtfbMs } from "../core/model-health.ts";
import type { Candidate } from "../core/ranking.ts";
import type { Readiness } from "../core/readiness.ts";
import { type FeedStatus, feedAgeMs } from "../core/snapshot.ts";
import type { ControlPlaneMetrics } from "../state/control-plane.ts";
import type { KeyView } from "./admin-schemas.ts";
import type { RolloutView } from "./rollouts.ts";

export interface FeedSummary {
  ageMs: number | null;
  lastAttemptAgeMs: number | null;
  lastError: string | null;
  skippedRows: number;
}

export interface StatusModel {
  ready: boolean;
  notReadyCode: string | null;
  notReadyMessage: string | null;
  feeds: { utilization: FeedSummary; models: FeedSummary };
  counts: { allowlist: number; candidates: number };
  candidates: Array<
    Candidate & {
      rank: number;
      breaker: BreakerPhase;
      /** Observed by the fleet (docs/contract.md §13); null before the model's first streamed answer. */
      recentTtfbMs: number | null;
      baselineTtfbMs: number | null;
      failureRate: number | null;
      health: HealthPhase;
      /** What the model can serve (docs/contract.md §16): the feed's word, narrowed by what refusals taught. */
      windowTokens: number | null;
      maxOutputTokens: number | null;
      /** Capabilities the model has (`tools`, `images`, `json_schema`); unknown ones are left out. */
      serves: string[];
      /** A window smaller than the feed states, learned from an engine's refusal; null when none holds. */
      learnedWindowTokens: number | null;
      /**
       * How the model did at continuing broken answers (docs/contract.md §19), since the counters began:
       * continuations it gave that were spliced in, and ones where it started the answer over.
       */
      resumes: { resumed: number; restarted: number };
    }
  >;
  /** What each alias's candidates offer at best (docs/contract.md §16). */
  aliases: Array<{ id: string } & CapabilitySummary>;
  recentFailovers: { windowMs: number; reasons: Array<{ reason: string; count: number }> };
  generatedAt: string;
  /** Managed keys (docs/contract.md §15), when ADMIN_API_KEY is set. */
  keys?: KeyView[];
  /** Rollouts (docs/contract.md §18), each with its arms this step and its latest events. */
  rollouts?: RolloutView[];
}

export function buildStatusModel(
  metrics: ControlPlaneMetrics,
  readiness: Readiness,
  config: Config,
  nowMs: number,
): StatusModel {
  const { view } = metrics;
  const resumes = resumesByModel(metrics.counters);
  const capabilitiesOf = (model: string) =>
    withLimit(view.capabilities?.[model] ?? UNKNOWN_CAPABILITIES, view.limits?.[model], nowMs);
  const alias = (id: string, confidentialOnly: boolean) => ({
    id,
    ...summarizeCapabilities(
      modeModels({ kind: "alias", confidentialOnly }, view.candidates).map(capabilitiesOf),
    ),
  });
  return {
    ready: readiness.ready,
    notReadyCode: readiness.ready ? null : readiness.code,
    notReadyMessage: readiness.ready ? null : readiness.message,
    feeds: { utilization: summarizeFeed(view.utilization, nowMs), models: summarizeFeed(view.models, nowMs) },
    counts: { allowlist: view.allowlist.length, candidates: view.candidates.length },
    candidates: view.candidates.map((candidate, index) => {
      const stats = view.health[candidate.name];
      return {
        rank: index + 1,
        ...candidate,
        breaker: breakerPhase(view.breakers[candidate.name], config.breaker, nowMs),
        recentTtfbMs: stats ? recentTtfbMs(stats) : null,
        baselineTtfbMs: stats && stats.samples > 0 ? Math.round(stats.baselineTtfbMs) : null,
        failureRate: stats ? stats.failureRate : null,
        health: healthPhase(stats, config.slowModel, nowMs),
        ...capabilityFacts(view, candidate.name, nowMs),
        resumes: resumes.get(candidate.name) ?? { resumed: 0, restarted: 0 },
      };
    }),
    aliases: [alias(config.modes.aliasModel, false), alias(config.modes.teeAliasModel, true)],
    recentFailovers: { windowMs: metrics.recentWindowMs, reasons: metrics.recentFailovers },
    generatedAt: new Date(nowMs).toISOString(),
  };
}

function capabilityFacts(view: ControlPlaneMetrics["view"], model: string, nowMs: number) {
  const stated = view.capabilities?.[model] ?? UNKNOWN_CAPABILITIES;
  const limit = view.limits?.[model];
  const caps = withLimit(stated, limit, nowMs);
  const serves: string[] = [];
  if (caps.tools) serves.push("tools");
  if (caps.images) serves.push("images");
  if (caps.structuredOutputs) serves.push("json_schema");
  const learned = caps.windowTokens !== stated.windowTokens ? caps.windowTokens : null;
  return {
    windowTokens: caps.windowTokens,
    maxOutputTokens: caps.maxOutputTokens,
    serves,
    learnedWindowTokens: learned,
  };
}

/** Each model's continuations spliced in and restarted, from resumes_total. */
function resumesByModel(
  counters: ControlPlaneMetrics["counters"],
): Map<string, { resumed: number; restarted: number }> {
  const byModel = new Map<string, { resumed: number; restarted: number }>();
  for (const counter of counters) {
    if (counter.metric !== "resumes_total") continue;
    const { model, result } = counter.labels;
    if (model === undefined || (result !== "resumed" && result !== "restarted")) continue;
    const entry = byModel.get(model) ?? { resumed: 0, restarted: 0 };
    entry[result] += counter.delta;
    byModel.set(model, entry);
  }
  return byModel;
}

function summarizeFeed(feed: FeedStatus, nowMs: number): FeedSummary {
  return {
    ageMs: feedAgeMs(feed, nowMs),
    lastAttemptAgeMs: feed.lastAttemptMs === null ? null : Math.max(0, nowMs - feed.lastAttemptMs),
    lastError: feed.lastError,
    skippedRows: feed.skippedRows,
  };
}
