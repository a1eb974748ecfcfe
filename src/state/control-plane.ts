// The fleet's single control-plane object: last-known-good snapshot and allowlist, feed timestamps, breakers,
// counters. A thin shell: it loads its tables, calls the plain functions in control/ with its store and clock,
// and keeps the result in memory. It fetches the feeds itself (from cron via refreshNow, and from its own alarm
// between ticks) because it is the one writer: concurrent refreshes coalesce into one in-flight run, so they
// can never interleave into a mixed or older state. Requests read it through isolate/view-cache.ts, never per
// request.
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config.ts";
import { applyOutcomeDigest, RECENT_FAILOVERS_MS } from "../control/outcomes.ts";
import { type RefreshReport, refreshFeeds } from "../control/refresh.ts";
import {
  act,
  created,
  judgeRollouts,
  type RolloutAction,
  type RolloutEvent,
  routesOf,
  stepStats,
} from "../control/rollouts.ts";
import type { ModelEntry } from "../core/feeds.ts";
import { resolveMode } from "../core/model-list.ts";
import type { OutcomeReport } from "../core/outcome.ts";
import type { OutcomeDigest } from "../core/outcome-digest.ts";
import { digestReports } from "../core/outcome-digest.ts";
import type { CounterDelta } from "../core/outcome-tally.ts";
import type { Rollout } from "../core/rollout.ts";
import { checkRollout, type RolloutInput, splitting } from "../core/rollout-config.ts";
import { figuresOf } from "../core/rollout-judge.ts";
import { buildView, type Feeds, type RoutingView } from "../core/snapshot.ts";
import { ControlPlaneStore } from "./control-plane-store.ts";
import { RolloutSqlStore } from "./rollout-store.ts";

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

/** A rollout as the admin API shows it: its settings and progress, its arms this step, and its history. */
export interface RolloutDetail {
  rollout: Rollout;
  arms: { baseline: ReturnType<typeof figuresOf>; candidate: ReturnType<typeof figuresOf> };
  events?: RolloutEvent[];
}

export type RolloutWrite =
  | { ok: true; detail: RolloutDetail }
  | { ok: false; status: 400 | 404 | 409; message: string; field?: string };

/** Events shown with each rollout in a listing (the whole history: GET /admin/rollouts/{id}). */
const LISTED_EVENTS = 5;

/** Webhook deliveries are tried this many times, backing off, then given up (and logged). */
const WEBHOOK_ATTEMPTS = 6;

export class ControlPlane extends DurableObject<Env> {
  readonly #store: ControlPlaneStore;
  readonly #rollouts: RolloutSqlStore;
  #feeds: Feeds;
  #view: RoutingView;
  #inflight: Promise<RefreshReport> | null = null;
  #alarmChecked = false;

  // Loading is synchronous SQL, so the constructor needs no blockConcurrencyWhile: nothing can run before it ends.
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new ControlPlaneStore(ctx.storage.sql);
    this.#rollouts = new RolloutSqlStore(ctx.storage.sql);
    this.#feeds = this.#store.loadFeeds();
    this.#view = this.#withRoutes(
      buildView(this.#feeds, this.#store.loadBreakers(), this.#store.loadModelStats()),
    );
  }

  /** The view with the rollouts isolates split by (docs/contract.md §18). */
  #withRoutes(view: RoutingView): RoutingView {
    return { ...view, rollouts: routesOf(this.#rollouts.loadRollouts()) };
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
    const nowMs = Date.now();
    const digest = digestReports(reports, nowMs);
    if (digest.arms) this.#addArms(digest.arms, nowMs);
    this.#view = applyOutcomeDigest(this.#view, digest, parsed.config, this.#store, nowMs);
    return this.#view;
  }

  /** Applies one location's merged outcomes (from its aggregator) and answers with the updated view. */
  async applyDigest(digest: OutcomeDigest): Promise<RoutingView> {
    await this.#ensureAlarm();
    const parsed = readConfig(this.env);
    if (!parsed.ok) return this.#view;
    const nowMs = Date.now();
    if (digest.arms) this.#addArms(digest.arms, nowMs);
    this.#view = applyOutcomeDigest(this.#view, digest, parsed.config, this.#store, nowMs);
    return this.#view;
  }

  // ---- Rollouts (docs/contract.md §18) ----

  /** Arm stats go to the step their rollout is at when they arrive. */
  #addArms(arms: NonNullable<OutcomeDigest["arms"]>, nowMs: number): void {
    const steps = new Map(
      this.#rollouts.loadRollouts().map((rollout) => [rollout.id, rollout.stepStartedMs]),
    );
    this.#rollouts.addArmMinutes(arms, nowMs, (id) => steps.get(id) ?? null);
  }

  /** Creates a rollout after checking it against the allowlist, the aliases and the rollouts running. */
  createRollout(input: RolloutInput, nowMs: number): RolloutWrite {
    const clash = splitting(this.#rollouts.loadRollouts(), input.match);
    if (clash)
      return {
        ok: false,
        status: 409,
        field: "match",
        message: `rollout ${clash.id} already splits ${input.match}`,
      };
    const checked = checkRollout(input, this.#checkContext());
    if (!checked.ok) return { ok: false, status: 400, message: checked.message, field: checked.field };
    const { config } = checked;
    const rollout: Rollout = {
      ...config,
      id: `ro_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`,
      state: "running",
      step: 0,
      weight: config.steps[0] ?? 0,
      stepStartedMs: nowMs,
      awaitingPromotion: false,
      abortedMs: null,
      createdMs: nowMs,
      lastHold: null,
    };
    created(this.#rollouts, rollout, nowMs);
    this.#view = this.#withRoutes(this.#view);
    return { ok: true, detail: this.#detail(rollout, true) };
  }

  /** Changes a rollout's settings (not its match): checked as a new one would be. */
  updateRollout(id: string, input: Partial<RolloutInput>, nowMs: number): RolloutWrite {
    const rollout = this.#rollouts.loadRollouts().find((each) => each.id === id);
    if (!rollout) return { ok: false, status: 404, message: id };
    if (input.match !== undefined && input.match !== rollout.match)
      return { ok: false, status: 400, field: "match", message: "match: a rollout's match cannot change" };
    const merged: RolloutInput = {
      name: input.name ?? rollout.name,
      match: rollout.match,
      candidate: input.candidate ?? rollout.candidate,
      steps: input.steps ?? rollout.steps,
      step_minutes: input.step_minutes ?? rollout.stepMinutes,
      min_requests: input.min_requests ?? rollout.minRequests,
      min_sessions: input.min_sessions ?? rollout.minSessions,
      max_error_rate_increase: input.max_error_rate_increase ?? rollout.guards.maxErrorRateIncrease,
      max_ttft_p95_ratio: input.max_ttft_p95_ratio ?? rollout.guards.maxTtftP95Ratio,
      max_cost_ratio: input.max_cost_ratio ?? rollout.guards.maxCostRatio,
      promote: input.promote ?? rollout.promote,
      cooldown_minutes: input.cooldown_minutes ?? rollout.cooldownMinutes,
    };
    const checked = checkRollout(merged, { ...this.#checkContext(), exceptId: id });
    if (!checked.ok) return { ok: false, status: 400, message: checked.message, field: checked.field };
    const next: Rollout = { ...rollout, ...checked.config, id };
    next.step = Math.min(next.step, next.steps.length - 1);
    if (next.state === "running" || next.state === "paused")
      next.weight = next.steps[next.step] ?? next.weight;
    this.#rollouts.saveRollout(next);
    this.#rollouts.addEvent({
      rollout: id,
      timeMs: nowMs,
      kind: "updated",
      state: next.state,
      weight: next.weight,
      reason: `changed: ${Object.keys(input).join(", ")}`,
      figures: null,
    });
    this.#view = this.#withRoutes(this.#view);
    return { ok: true, detail: this.#detail(next, true) };
  }

  /** Pauses, resumes (re-arms an aborted one after its cooldown), aborts or promotes a rollout. */
  actOnRollout(id: string, action: RolloutAction, nowMs: number): RolloutWrite {
    const rollout = this.#rollouts.loadRollouts().find((each) => each.id === id);
    if (!rollout) return { ok: false, status: 404, message: id };
    if (action === "resume" && rollout.state === "aborted") {
      const clash = splitting(this.#rollouts.loadRollouts(), rollout.match, id);
      if (clash)
        return { ok: false, status: 409, message: `rollout ${clash.id} already splits ${rollout.match}` };
    }
    const result = act(this.#rollouts, rollout, action, nowMs);
    if (!result.ok) return { ok: false, status: 409, message: result.message };
    this.#view = this.#withRoutes(this.#view);
    return { ok: true, detail: this.#detail(result.rollout, true) };
  }

  /** Every rollout, oldest first, with its arms this step and its latest events. */
  listRollouts(): RolloutDetail[] {
    return this.#rollouts.loadRollouts().map((rollout) => {
      const detail = this.#detail(rollout, true);
      detail.events = detail.events?.slice(-LISTED_EVENTS);
      return detail;
    });
  }

  /** One rollout with its arms this step and its history, or null. */
  getRollout(id: string): RolloutDetail | null {
    const rollout = this.#rollouts.loadRollouts().find((each) => each.id === id);
    return rollout ? this.#detail(rollout, true) : null;
  }

  /** Judges every rollout now (the alarm and the cron do, each period; tests pass their clock). */
  async judgeRollouts(nowMs: number): Promise<void> {
    if (judgeRollouts(this.#rollouts, nowMs)) this.#view = this.#withRoutes(this.#view);
    await this.#deliverWebhooks(nowMs);
  }

  #detail(rollout: Rollout, withEvents: boolean): RolloutDetail {
    const { baseline, candidate } = stepStats(this.#rollouts, rollout);
    const detail: RolloutDetail = {
      rollout,
      arms: { baseline: figuresOf(baseline), candidate: figuresOf(candidate) },
    };
    if (withEvents) detail.events = this.#rollouts.events(rollout.id);
    return detail;
  }

  #checkContext() {
    const parsed = readConfig(this.env);
    const aliases = parsed.ok ? [parsed.config.modes.aliasModel, parsed.config.modes.teeAliasModel] : [];
    const allowlist = new Set(this.#view.allowlist);
    const isKnownTarget = (name: string) => {
      if (aliases.includes(name)) return true;
      if (!parsed.ok) return false;
      const mode = resolveMode(name, parsed.config.modes);
      if (!mode.ok) return false;
      const models =
        mode.mode.kind === "list" ? mode.mode.models : mode.mode.kind === "direct" ? [mode.mode.model] : [];
      return models.length > 0 && models.every((model) => allowlist.has(model));
    };
    return { isKnownTarget, running: this.#rollouts.loadRollouts() };
  }

  /** Sends owed abort and promotion events to ROLLOUT_WEBHOOK_URL, backing off on failure. */
  async #deliverWebhooks(nowMs: number): Promise<void> {
    const parsed = readConfig(this.env);
    const url = parsed.ok ? parsed.config.rollouts.webhookUrl : null;
    const due = this.#rollouts.dueWebhooks(nowMs);
    for (const owed of due) {
      if (url === null) {
        this.#rollouts.delivered(owed.seq);
        continue;
      }
      let ok = false;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(owed.payload),
          signal: AbortSignal.timeout(5000),
        });
        await response.body?.cancel();
        ok = response.ok;
      } catch {
        ok = false;
      }
      if (ok) this.#rollouts.delivered(owed.seq);
      else {
        const attempts = owed.attempts + 1;
        if (attempts >= WEBHOOK_ATTEMPTS)
          console.error(JSON.stringify({ event: "rollout_webhook_failed", attempts }));
        this.#rollouts.failed(owed.seq, attempts, nowMs + 10_000 * 2 ** owed.attempts, WEBHOOK_ATTEMPTS);
      }
    }
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
    const report = await this.#refresh();
    await this.judgeRollouts(Date.now());
    return report;
  }

  override async alarm(): Promise<void> {
    try {
      await this.#refresh();
      await this.judgeRollouts(Date.now());
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
    this.#view = this.#withRoutes(
      buildView(feeds, this.#view.breakers, this.#view.health, this.#view.limits),
    );
    return { utilization, models, candidates: this.#view.candidates.length };
  }
}
