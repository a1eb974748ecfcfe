// The fleet's single control-plane object: last-known-good snapshot and allowlist, feed timestamps, breakers.
// It fetches the feeds itself (from cron via refreshNow, and from its own alarm between ticks) because it is
// the one writer: concurrent refreshes coalesce into one in-flight run, so they can never interleave into a
// mixed or older state. Requests read it through the isolate cache (control/routing-view.ts), never per request.
import { DurableObject } from "cloudflare:workers";
import { breakerOptionsOf, readConfig } from "../config.ts";
import { fetchFeed } from "../control/fetch-feed.ts";
import { planRefresh } from "../control/refresh-plan.ts";
import { type FeedParse, type ModelEntry, parseModelsFeed, parseUtilizationFeed } from "../core/feeds.ts";
import type { OutcomeReport } from "../core/outcome.ts";
import { applyOutcomesToBreakers, type CounterDelta, tallyCounters } from "../core/outcome-tally.ts";
import { PRIVATE_CHUTE_NAME } from "../core/ranking.ts";
import { type FeedStatus, type RoutingView, rankSnapshot } from "../core/snapshot.ts";
import { ControlPlaneStore, type FeedName, type StoredFeeds } from "./control-plane-store.ts";

/** The name of the one control-plane object. */
export const CONTROL_PLANE_NAME = "control-plane";

/** How far back the status page's "recent failovers" look. */
export const RECENT_FAILOVERS_MS = 15 * 60_000;

export interface ControlPlaneMetrics {
  view: RoutingView;
  counters: CounterDelta[];
  recentFailovers: Array<{ reason: string; count: number }>;
  recentWindowMs: number;
}

/** What one refresh did, for the cron log. */
export interface RefreshReport {
  utilization: "ok" | "failed" | "skipped";
  models: "ok" | "failed" | "skipped";
  candidates: number;
}

export class ControlPlane extends DurableObject<Env> {
  #store!: ControlPlaneStore;
  #feeds!: StoredFeeds;
  #view!: RoutingView;
  #inflight: Promise<RefreshReport> | null = null;
  #alarmChecked = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.#store = new ControlPlaneStore(ctx.storage.sql);
      this.#feeds = this.#store.loadFeeds();
      this.#view = this.#buildView(this.#store.loadBreakers());
    });
  }

  /** The routing view isolates cache; also makes sure the refresh alarm is running. */
  async getView(): Promise<RoutingView> {
    await this.#ensureAlarm();
    return this.#view;
  }

  /** Allowlisted models with their upstream metadata, for `GET /v1/models`. */
  getModels(): ModelEntry[] {
    return this.#feeds.models.rows;
  }

  /** Applies a batch of request outcomes (breakers, counters) and answers with the updated view. */
  reportOutcomes(reports: OutcomeReport[]): RoutingView {
    const parsed = readConfig(this.env);
    if (!parsed.ok) return this.#view;
    const changed = applyOutcomesToBreakers(
      this.#view.breakers,
      reports,
      breakerOptionsOf(parsed.config),
      Date.now(),
    );
    const breakers = { ...this.#view.breakers };
    for (const [model, state] of Object.entries(changed)) {
      this.#store.saveBreaker(model, state);
      if (state.consecutiveFailures === 0 && state.openedAtMs === null) delete breakers[model];
      else breakers[model] = state;
    }
    const counters = tallyCounters(reports);
    this.#store.addCounters(counters);
    this.#store.addRecentFailovers(counters, Date.now(), RECENT_FAILOVERS_MS);
    this.#view = { ...this.#view, breakers };
    return this.#view;
  }

  /** Everything /metrics and the status page show: the view, the counters, recent failover reasons. */
  getMetrics(): ControlPlaneMetrics {
    return {
      view: this.#view,
      counters: this.#store.loadCounters(),
      recentFailovers: this.#store.loadRecentFailovers(Date.now() - RECENT_FAILOVERS_MS),
      recentWindowMs: RECENT_FAILOVERS_MS,
    };
  }

  /** Refreshes now (the cron trigger); joins a refresh already under way instead of starting a second. */
  async refreshNow(): Promise<RefreshReport> {
    await this.#ensureAlarm();
    return this.#refresh();
  }

  override async alarm(): Promise<void> {
    try {
      await this.#refresh();
    } finally {
      const config = readConfig(this.env);
      if (config.ok && config.config.utilizationRefreshMs > 0) {
        await this.ctx.storage.setAlarm(Date.now() + config.config.utilizationRefreshMs);
      }
    }
  }

  async #ensureAlarm(): Promise<void> {
    if (this.#alarmChecked) return;
    this.#alarmChecked = true;
    const config = readConfig(this.env);
    if (!config.ok || config.config.utilizationRefreshMs === 0) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  #refresh(): Promise<RefreshReport> {
    this.#inflight ??= this.#runRefresh().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #runRefresh(): Promise<RefreshReport> {
    const parsed = readConfig(this.env);
    const report: RefreshReport = { utilization: "skipped", models: "skipped", candidates: 0 };
    if (!parsed.ok) return report;
    const config = parsed.config;
    const startedMs = Date.now();
    const plan = planRefresh(this.#feeds.models.status, config.modelsRefreshMs, startedMs);
    const [utilization, models] = await Promise.all([
      fetchFeed(config.utilizationUrl, config.controlPlaneTimeoutMs, parseUtilizationFeed),
      plan.models ? fetchFeed(config.modelsUrl, config.controlPlaneTimeoutMs, parseModelsFeed) : null,
    ]);
    const finishedMs = Date.now();
    if (models) {
      report.models = this.#apply("models", models, startedMs, finishedMs);
    }
    report.utilization = this.#apply(
      "utilization",
      utilization.ok
        ? { ...utilization, rows: utilization.rows.filter((r) => r.name !== PRIVATE_CHUTE_NAME) }
        : utilization,
      startedMs,
      finishedMs,
    );
    this.#view = this.#buildView(this.#view.breakers);
    report.candidates = this.#view.candidates.length;
    return report;
  }

  /** Stores one feed's outcome: success replaces data and timestamp, failure keeps the last-known-good. */
  #apply<K extends FeedName>(
    name: K,
    result: FeedParse<StoredFeeds[K]["rows"][number]>,
    startedMs: number,
    finishedMs: number,
  ): "ok" | "failed" {
    const feed: { status: FeedStatus; rows: unknown[] } = this.#feeds[name];
    if (result.ok) {
      const status: FeedStatus = {
        lastSuccessMs: finishedMs,
        lastAttemptMs: startedMs,
        lastError: null,
        skippedRows: result.skipped,
      };
      this.#store.saveFeed(name, status, result.rows);
      feed.status = status;
      feed.rows = result.rows;
      return "ok";
    }
    const status: FeedStatus = { ...feed.status, lastAttemptMs: startedMs, lastError: result.error };
    this.#store.saveFeedFailure(name, status);
    feed.status = status;
    return "failed";
  }

  #buildView(breakers: RoutingView["breakers"]): RoutingView {
    return {
      candidates: rankSnapshot(this.#feeds.utilization.rows, this.#feeds.models.rows),
      allowlist: this.#feeds.models.rows.map((model) => model.id),
      utilization: this.#feeds.utilization.status,
      models: this.#feeds.models.status,
      breakers,
    };
  }
}
