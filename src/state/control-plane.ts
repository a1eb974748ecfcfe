// The fleet's single control-plane object: last-known-good snapshot and allowlist, feed timestamps, breakers,
// counters. A thin shell: it loads its tables, calls the plain functions in control/ with its store and clock,
// and keeps the result in memory. It fetches the feeds itself (from cron via refreshNow, and from its own alarm
// between ticks) because it is the one writer: concurrent refreshes coalesce into one in-flight run, so they
// can never interleave into a mixed or older state. Requests read it through isolate/view-cache.ts, never per
// request.
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config.ts";
import { applyOutcomeDigest, applyOutcomeReports, RECENT_FAILOVERS_MS } from "../control/outcomes.ts";
import { type RefreshReport, refreshFeeds } from "../control/refresh.ts";
import type { ModelEntry } from "../core/feeds.ts";
import type { OutcomeReport } from "../core/outcome.ts";
import type { OutcomeDigest } from "../core/outcome-digest.ts";
import type { CounterDelta } from "../core/outcome-tally.ts";
import { buildView, type Feeds, type RoutingView } from "../core/snapshot.ts";
import { ControlPlaneStore } from "./control-plane-store.ts";

/** The name of the one control-plane object. */
export const CONTROL_PLANE_NAME = "control-plane";

export type ControlPlaneStub = DurableObjectStub<ControlPlane>;

/** The stub of the fleet's one control-plane object. */
export function controlPlaneStub(env: Env): ControlPlaneStub {
  return env.CONTROL_PLANE.getByName(CONTROL_PLANE_NAME);
}

export interface ControlPlaneMetrics {
  view: RoutingView;
  counters: CounterDelta[];
  recentFailovers: Array<{ reason: string; count: number }>;
  recentWindowMs: number;
}

export class ControlPlane extends DurableObject<Env> {
  readonly #store: ControlPlaneStore;
  #feeds: Feeds;
  #view: RoutingView;
  #inflight: Promise<RefreshReport> | null = null;
  #alarmChecked = false;

  // Loading is synchronous SQL, so the constructor needs no blockConcurrencyWhile: nothing can run before it ends.
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new ControlPlaneStore(ctx.storage.sql);
    this.#feeds = this.#store.loadFeeds();
    this.#view = buildView(this.#feeds, this.#store.loadBreakers(), this.#store.loadModelStats());
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
    this.#view = applyOutcomeReports(this.#view, reports, parsed.config, this.#store, Date.now());
    return this.#view;
  }

  /** Applies one location's merged outcomes (from its aggregator) and answers with the updated view. */
  async applyDigest(digest: OutcomeDigest): Promise<RoutingView> {
    await this.#ensureAlarm();
    const parsed = readConfig(this.env);
    if (!parsed.ok) return this.#view;
    this.#view = applyOutcomeDigest(this.#view, digest, parsed.config, this.#store, Date.now());
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
      if (config.ok && config.config.feeds.utilizationRefreshMs > 0) {
        await this.ctx.storage.setAlarm(Date.now() + config.config.feeds.utilizationRefreshMs);
      }
    }
  }

  async #ensureAlarm(): Promise<void> {
    if (this.#alarmChecked) return;
    this.#alarmChecked = true;
    const config = readConfig(this.env);
    if (!config.ok || config.config.feeds.utilizationRefreshMs === 0) return;
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
    if (!parsed.ok) return { utilization: "skipped", models: "skipped", candidates: 0 };
    const { feeds, utilization, models } = await refreshFeeds(
      this.#feeds,
      parsed.config.feeds,
      this.#store,
      Date.now,
    );
    this.#feeds = feeds;
    this.#view = buildView(feeds, this.#view.breakers, this.#view.health, this.#view.limits);
    return { utilization, models, candidates: this.#view.candidates.length };
  }
}
