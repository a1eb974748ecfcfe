// SQLite persistence of the rollouts the control-plane object owns (docs/contract.md §18): each rollout, its
// arms' stats per minute, its events, and the webhook deliveries still owed. Synchronous calls on the object's
// ctx.storage.sql, like its other tables (control-plane-store.ts).
import type { RolloutEvent, RolloutStore } from "../control/rollouts.ts";
import { type ArmStats, addArmStats, emptyArmStats } from "../core/arm-stats.ts";
import type { Rollout } from "../core/rollout.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rollouts (
  id TEXT PRIMARY KEY,
  rollout_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rollout_minutes (
  rollout TEXT NOT NULL,
  arm TEXT NOT NULL,
  step_ms INTEGER NOT NULL,
  minute_ms INTEGER NOT NULL,
  stats_json TEXT NOT NULL,
  PRIMARY KEY (rollout, arm, step_ms, minute_ms)
);
CREATE TABLE IF NOT EXISTS rollout_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  rollout TEXT NOT NULL,
  event_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollout_webhooks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  payload_json TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_ms INTEGER NOT NULL
);
`;

/** Minutes of arm stats kept: a step lasts minutes to hours. */
const KEEP_MINUTES_MS = 7 * 86_400_000;

export interface OwedWebhook {
  seq: number;
  payload: unknown;
  attempts: number;
}

export class RolloutSqlStore implements RolloutStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(SCHEMA);
  }

  loadRollouts(): Rollout[] {
    return this.#sql
      .exec<{ rollout_json: string }>("SELECT rollout_json FROM rollouts ORDER BY created_ms, id")
      .toArray()
      .map((row) => JSON.parse(row.rollout_json) as Rollout);
  }

  saveRollout(rollout: Rollout): void {
    this.#sql.exec(
      "INSERT OR REPLACE INTO rollouts (id, rollout_json, created_ms) VALUES (?, ?, ?)",
      rollout.id,
      JSON.stringify(rollout),
      rollout.createdMs,
    );
  }

  /**
   * Adds a digest's arm stats to the minute they arrived in, within the step their rollout is at then
   * (`stepOf`: the step's start, its key; a rollout no longer known is skipped).
   */
  addArmMinutes(
    arms: Record<string, ArmStats>,
    nowMs: number,
    stepOf: (rollout: string) => number | null,
  ): void {
    const minute = nowMs - (nowMs % 60_000);
    for (const [key, stats] of Object.entries(arms)) {
      const [rollout, arm] = key.split("|");
      if (!rollout || (arm !== "baseline" && arm !== "candidate")) continue;
      const step = stepOf(rollout);
      if (step === null) continue;
      const existing = this.#sql
        .exec<{ stats_json: string }>(
          "SELECT stats_json FROM rollout_minutes WHERE rollout = ? AND arm = ? AND step_ms = ? AND minute_ms = ?",
          rollout,
          arm,
          step,
          minute,
        )
        .toArray()[0];
      const merged = existing ? addArmStats(JSON.parse(existing.stats_json) as ArmStats, stats) : stats;
      this.#sql.exec(
        "INSERT OR REPLACE INTO rollout_minutes (rollout, arm, step_ms, minute_ms, stats_json) VALUES (?, ?, ?, ?, ?)",
        rollout,
        arm,
        step,
        minute,
        JSON.stringify(merged),
      );
    }
    this.#sql.exec("DELETE FROM rollout_minutes WHERE minute_ms < ?", nowMs - KEEP_MINUTES_MS);
  }

  armStatsInStep(rollout: string, arm: "baseline" | "candidate", stepStartedMs: number): ArmStats {
    return this.#sql
      .exec<{ stats_json: string }>(
        "SELECT stats_json FROM rollout_minutes WHERE rollout = ? AND arm = ? AND step_ms = ?",
        rollout,
        arm,
        stepStartedMs,
      )
      .toArray()
      .reduce((sum, row) => addArmStats(sum, JSON.parse(row.stats_json) as ArmStats), emptyArmStats());
  }

  addEvent(event: RolloutEvent): void {
    this.#sql.exec(
      "INSERT INTO rollout_events (rollout, event_json) VALUES (?, ?)",
      event.rollout,
      JSON.stringify(event),
    );
  }

  events(rollout: string): RolloutEvent[] {
    return this.#sql
      .exec<{ event_json: string }>(
        "SELECT event_json FROM rollout_events WHERE rollout = ? ORDER BY seq",
        rollout,
      )
      .toArray()
      .map((row) => JSON.parse(row.event_json) as RolloutEvent);
  }

  owe(event: RolloutEvent, rollout: Rollout): void {
    const text = `Rollout "${rollout.name}" (${rollout.match} → ${rollout.candidate}) ${event.kind.replaceAll("_", " ")}: ${event.reason}`;
    this.#sql.exec(
      "INSERT INTO rollout_webhooks (payload_json, next_ms) VALUES (?, ?)",
      JSON.stringify({
        text,
        event,
        rollout: { id: rollout.id, name: rollout.name, match: rollout.match, candidate: rollout.candidate },
      }),
      event.timeMs,
    );
  }

  /** Webhook deliveries due by `nowMs`. */
  dueWebhooks(nowMs: number): OwedWebhook[] {
    return this.#sql
      .exec<{ seq: number; payload_json: string; attempts: number }>(
        "SELECT seq, payload_json, attempts FROM rollout_webhooks WHERE next_ms <= ? ORDER BY seq LIMIT 20",
        nowMs,
      )
      .toArray()
      .map((row) => ({ seq: row.seq, payload: JSON.parse(row.payload_json), attempts: row.attempts }));
  }

  delivered(seq: number): void {
    this.#sql.exec("DELETE FROM rollout_webhooks WHERE seq = ?", seq);
  }

  /** A failed delivery: tried again later, or given up after `maxAttempts`. */
  failed(seq: number, attempts: number, retryAtMs: number, maxAttempts: number): void {
    if (attempts >= maxAttempts) this.delivered(seq);
    else
      this.#sql.exec(
        "UPDATE rollout_webhooks SET attempts = ?, next_ms = ? WHERE seq = ?",
        attempts,
        retryAtMs,
        seq,
      );
  }
}
