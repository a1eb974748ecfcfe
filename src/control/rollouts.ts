// Rollouts as the control-plane object runs them (docs/contract.md §18), as plain functions over its store and
// a clock passed in: operators' actions (pause, resume, abort, promote), the alarm's judgement of each step from
// the arms' per-minute stats, the events every change leaves, the webhook deliveries owed for aborts and
// promotions, and the routes the routing view carries to every isolate.
import type { ArmStats } from "../core/arm-stats.ts";
import type { Rollout, RolloutRoute } from "../core/rollout.ts";
import { type JudgementFigures, judge } from "../core/rollout-judge.ts";

export type RolloutEventKind =
  | "created"
  | "updated"
  | "advanced"
  | "held"
  | "awaiting_promotion"
  | "promoted"
  | "paused"
  | "resumed"
  | "aborted";

export interface RolloutEvent {
  rollout: string;
  timeMs: number;
  kind: RolloutEventKind;
  state: Rollout["state"];
  weight: number;
  reason: string;
  figures: JudgementFigures | null;
}

/** What the rollout logic reads and writes in the object's store. */
export interface RolloutStore {
  loadRollouts(): Rollout[];
  saveRollout(rollout: Rollout): void;
  /** The arm's stats summed over the minutes of the step that started at `stepStartedMs`. */
  armStatsInStep(rollout: string, arm: "baseline" | "candidate", stepStartedMs: number): ArmStats;
  addEvent(event: RolloutEvent): void;
  /** A webhook delivery owed for an event. */
  owe(event: RolloutEvent, rollout: Rollout): void;
}

/** The events that reach ROLLOUT_WEBHOOK_URL. */
export const NOTIFIED: ReadonlySet<RolloutEventKind> = new Set(["aborted", "promoted", "awaiting_promotion"]);

/** The routes isolates split by, oldest first (a later promotion of the same match wins). */
export function routesOf(rollouts: readonly Rollout[]): RolloutRoute[] {
  return rollouts.map(({ id, match, candidate, weight, state }) => ({ id, match, candidate, weight, state }));
}

function record(
  store: RolloutStore,
  rollout: Rollout,
  kind: RolloutEventKind,
  reason: string,
  figures: JudgementFigures | null,
  nowMs: number,
): RolloutEvent {
  store.saveRollout(rollout);
  const event: RolloutEvent = {
    rollout: rollout.id,
    timeMs: nowMs,
    kind,
    state: rollout.state,
    weight: rollout.weight,
    reason,
    figures,
  };
  store.addEvent(event);
  if (NOTIFIED.has(kind)) store.owe(event, rollout);
  return event;
}

/** Both arms' stats since the rollout's current step began. */
export function stepStats(
  store: RolloutStore,
  rollout: Rollout,
): { baseline: ArmStats; candidate: ArmStats } {
  return {
    baseline: store.armStatsInStep(rollout.id, "baseline", rollout.stepStartedMs),
    candidate: store.armStatsInStep(rollout.id, "candidate", rollout.stepStartedMs),
  };
}

/** Judges every live rollout once (the alarm); returns whether any changed its routing. */
export function judgeRollouts(store: RolloutStore, nowMs: number): boolean {
  let routesChanged = false;
  for (const rollout of store.loadRollouts()) {
    const { baseline, candidate } = stepStats(store, rollout);
    const verdict = judge(rollout, baseline, candidate, nowMs);
    switch (verdict.action) {
      case "none":
        break;
      case "hold":
        // Once per step and reason, so a long hold is one event, not one per alarm.
        if (rollout.lastHold !== verdict.reason) {
          rollout.lastHold = verdict.reason;
          record(store, rollout, "held", verdict.reason, verdict.figures, nowMs);
        }
        break;
      case "advance":
        rollout.step = verdict.toStep;
        rollout.weight = rollout.steps[verdict.toStep] ?? rollout.weight;
        rollout.stepStartedMs = nowMs;
        rollout.lastHold = null;
        record(store, rollout, "advanced", verdict.reason, verdict.figures, nowMs);
        routesChanged = true;
        break;
      case "await_promotion":
        rollout.awaitingPromotion = true;
        record(store, rollout, "awaiting_promotion", verdict.reason, verdict.figures, nowMs);
        break;
      case "promote":
        promote(rollout, nowMs);
        record(store, rollout, "promoted", verdict.reason, verdict.figures, nowMs);
        routesChanged = true;
        break;
      case "abort":
        abort(rollout, nowMs);
        record(store, rollout, "aborted", verdict.reason, verdict.figures, nowMs);
        routesChanged = true;
        break;
    }
  }
  return routesChanged;
}

function promote(rollout: Rollout, nowMs: number): void {
  rollout.state = "promoted";
  rollout.weight = 100;
  rollout.awaitingPromotion = false;
  rollout.stepStartedMs = nowMs;
}

function abort(rollout: Rollout, nowMs: number): void {
  rollout.state = "aborted";
  rollout.weight = 0;
  rollout.awaitingPromotion = false;
  rollout.abortedMs = nowMs;
}

export type RolloutAction = "pause" | "resume" | "abort" | "promote";

/** Why an action cannot be taken now, in words for a 409. */
export type ActionResult = { ok: true; rollout: Rollout } | { ok: false; message: string };

/** An operator's action on a rollout, with its event. */
export function act(
  store: RolloutStore,
  rollout: Rollout,
  action: RolloutAction,
  nowMs: number,
): ActionResult {
  const refuse = (message: string): ActionResult => ({ ok: false, message });
  switch (action) {
    case "pause":
      if (rollout.state !== "running") return refuse(`a ${rollout.state} rollout cannot be paused`);
      rollout.state = "paused";
      record(store, rollout, "paused", "paused by the operator", null, nowMs);
      return { ok: true, rollout };
    case "resume": {
      if (rollout.state === "paused") {
        rollout.state = "running";
        // The step starts over: what was measured before the pause still counts toward it.
        record(store, rollout, "resumed", "resumed by the operator", null, nowMs);
        return { ok: true, rollout };
      }
      if (rollout.state !== "aborted") return refuse(`a ${rollout.state} rollout cannot be resumed`);
      const readyMs = (rollout.abortedMs ?? 0) + rollout.cooldownMinutes * 60_000;
      if (nowMs < readyMs)
        return refuse(
          `an aborted rollout can be re-armed after its cooldown, at ${new Date(readyMs).toISOString()}`,
        );
      // Re-armed from the first step.
      rollout.state = "running";
      rollout.step = 0;
      rollout.weight = rollout.steps[0] ?? 0;
      rollout.stepStartedMs = nowMs;
      rollout.abortedMs = null;
      rollout.lastHold = null;
      record(store, rollout, "resumed", "re-armed by the operator after an abort", null, nowMs);
      return { ok: true, rollout };
    }
    case "abort":
      if (rollout.state === "aborted" || rollout.state === "promoted")
        return refuse(`a ${rollout.state} rollout cannot be aborted`);
      abort(rollout, nowMs);
      record(store, rollout, "aborted", "aborted by the operator", null, nowMs);
      return { ok: true, rollout };
    case "promote":
      if (rollout.state !== "running" && rollout.state !== "paused")
        return refuse(`a ${rollout.state} rollout cannot be promoted`);
      promote(rollout, nowMs);
      record(store, rollout, "promoted", "promoted by the operator", null, nowMs);
      return { ok: true, rollout };
  }
}

/** Records a new rollout's creation. */
export function created(store: RolloutStore, rollout: Rollout, nowMs: number): void {
  record(store, rollout, "created", `created at ${rollout.weight} %`, null, nowMs);
}
