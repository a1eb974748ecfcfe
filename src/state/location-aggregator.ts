// One location's fan-in and fan-out (research/SCALE.md): the isolates of a Cloudflare location send their
// outcome digests here instead of to the control plane, and read their routing view from here. The object
// merges what its isolates send and forwards one digest to the control plane every AGGREGATOR_FORWARD_MS
// (1 s), by alarm, taking the fresh view back with the answer; while its isolates are quiet it only keeps
// that view fresh, and when nobody asks it stops. Failures travel fast: when the pending digest holds enough
// failures in a row to open a model's breaker that is closed in its view, it forwards at once (at most every
// quarter period) and moves its alarm a period on, so a dead model opens without waiting for the alarm while
// successes and counters wait, and the control plane still hears from it about once a period. So the control plane's load grows with locations, not
// isolates. AGGREGATOR_FORWARD_MS = 0 passes every call straight through (no batching, no cached view).
// A merged digest waiting for its alarm lives only in memory: an evicted aggregator loses at most one
// period's outcomes, which are best-effort by design (the next ones carry on).
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config.ts";
import { breakerPhase } from "../core/breaker.ts";
import { mergeDigest, type OutcomeDigest } from "../core/outcome-digest.ts";
import type { RoutingView } from "../core/snapshot.ts";
import { controlPlaneStub } from "./control-plane.ts";

/** The aggregator of the location an isolate runs in (`request.cf.colo`; "local" when there is none). */
export function aggregatorStub(env: Env, location: string): DurableObjectStub<LocationAggregator> {
  return env.LOCATION_AGGREGATOR.getByName(`location-${location}`);
}

export class LocationAggregator extends DurableObject<Env> {
  #pending: OutcomeDigest | null = null;
  #view: RoutingView | null = null;
  #viewAtMs = 0;
  /** An isolate called since the last alarm: keep the view fresh for it. */
  #asked = false;
  #alarmSet = false;
  #forwarding: Promise<RoutingView> | null = null;
  #lastUrgentMs = 0;

  /** An isolate's digest; answers with the freshest view this object has. */
  async report(digest: OutcomeDigest): Promise<RoutingView> {
    const periodMs = this.#periodMs();
    if (periodMs === 0) return controlPlaneStub(this.env).applyDigest(digest);
    this.#pending = this.#pending ? mergeDigest(this.#pending, digest) : digest;
    this.#asked = true;
    await this.#scheduleForward(periodMs);
    const nowMs = Date.now();
    if (this.#view && nowMs - this.#lastUrgentMs >= periodMs / 4 && this.#opensABreaker(this.#view, nowMs)) {
      this.#lastUrgentMs = nowMs;
      // It takes the place of the next regular forward, so the control plane still hears from this
      // location about once a period.
      this.#alarmSet = true;
      await this.ctx.storage.setAlarm(nowMs + periodMs);
      return this.#forward();
    }
    return this.#view ?? this.#forward();
  }

  /** The routing view, at most one period old (a pass-through call when forwarding is off). */
  async getView(): Promise<RoutingView> {
    const periodMs = this.#periodMs();
    if (periodMs === 0) return controlPlaneStub(this.env).getView();
    this.#asked = true;
    await this.#scheduleForward(periodMs);
    if (this.#view && Date.now() - this.#viewAtMs <= periodMs) return this.#view;
    return this.#forward();
  }

  override async alarm(): Promise<void> {
    this.#alarmSet = false;
    const periodMs = this.#periodMs();
    const wanted = this.#asked || this.#pending !== null;
    this.#asked = false;
    if (!wanted || periodMs === 0) return;
    try {
      await this.#forward();
    } catch (error) {
      // The digest was merged back; the next alarm tries again (a thrown alarm would be retried at once).
      console.error(JSON.stringify({ event: "aggregator_forward_failed", error: String(error) }));
    }
    // Keep going while isolates are here; the first quiet period ends the loop.
    await this.#scheduleForward(periodMs);
  }

  /** Sends what is pending (possibly nothing: then it only fetches the view); one at a time. */
  #forward(): Promise<RoutingView> {
    if (this.#forwarding) return this.#forwarding;
    const digest = this.#pending;
    this.#pending = null;
    const controlPlane = controlPlaneStub(this.env);
    this.#forwarding = (digest ? controlPlane.applyDigest(digest) : controlPlane.getView())
      .then((view) => {
        this.#view = view;
        this.#viewAtMs = Date.now();
        return view;
      })
      .catch((error: unknown) => {
        // Not lost: merged back in front of whatever arrived meanwhile, for the next forward.
        if (digest) this.#pending = this.#pending ? mergeDigest(digest, this.#pending) : digest;
        throw error;
      })
      .finally(() => {
        this.#forwarding = null;
      });
    return this.#forwarding;
  }

  async #scheduleForward(periodMs: number): Promise<void> {
    if (this.#alarmSet) return;
    this.#alarmSet = true;
    await this.ctx.storage.setAlarm(Date.now() + periodMs);
  }

  /** Whether the pending failures alone would open a breaker that `view` shows closed. */
  #opensABreaker(view: RoutingView, nowMs: number): boolean {
    const parsed = readConfig(this.env);
    if (!parsed.ok || !this.#pending) return false;
    const options = parsed.config.breaker;
    for (const [model, entry] of Object.entries(this.#pending.models)) {
      const run = entry.sawSuccess ? entry.trailingFailures : entry.leadingFailures;
      if (run < options.failureThreshold) continue;
      const breaker = view.breakers[model];
      if (!breaker || breakerPhase(breaker, options, nowMs) !== "open") return true;
    }
    return false;
  }

  #periodMs(): number {
    const parsed = readConfig(this.env);
    return parsed.ok ? parsed.config.aggregator.forwardMs : 0;
  }
}
