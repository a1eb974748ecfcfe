// SQLite persistence of the control-plane object (tables documented in storage-schema.md).
// Synchronous calls on ctx.storage.sql; the object keeps a copy in memory and writes through.
import type { OutcomeWriter } from "../control/outcomes.ts";
import type { FeedWriter } from "../control/refresh.ts";
import type { BreakerState } from "../core/breaker.ts";
import type { ModelEntry, UtilizationRow } from "../core/feeds.ts";
import type { ModelStats } from "../core/model-health.ts";
import type { CounterDelta } from "../core/outcome-tally.ts";
import { emptyFeeds, type FeedName, type FeedStatus, type Feeds } from "../core/snapshot.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS feeds (
  name TEXT PRIMARY KEY,
  rows_json TEXT NOT NULL,
  last_success_ms INTEGER,
  last_attempt_ms INTEGER,
  last_error TEXT,
  skipped_rows INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counters (
  metric TEXT NOT NULL,
  labels_json TEXT NOT NULL,
  value INTEGER NOT NULL,
  PRIMARY KEY (metric, labels_json)
);
CREATE TABLE IF NOT EXISTS recent_failovers (
  minute_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (minute_ms, reason)
);
CREATE TABLE IF NOT EXISTS breakers (
  model TEXT PRIMARY KEY,
  consecutive_failures INTEGER NOT NULL,
  opened_at_ms INTEGER
);
CREATE TABLE IF NOT EXISTS model_stats (
  model TEXT PRIMARY KEY,
  stats_json TEXT NOT NULL
);
`;

type FeedRow = {
  name: string;
  rows_json: string;
  last_success_ms: number | null;
  last_attempt_ms: number | null;
  last_error: string | null;
  skipped_rows: number;
};

type BreakerRow = { model: string; consecutive_failures: number; opened_at_ms: number | null };

/** Thin typed access to the object's tables. */
export class ControlPlaneStore implements FeedWriter, OutcomeWriter {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(SCHEMA);
  }

  loadFeeds(): Feeds {
    const feeds = emptyFeeds();
    for (const row of this.#sql.exec<FeedRow>("SELECT * FROM feeds")) {
      const status: FeedStatus = {
        lastSuccessMs: row.last_success_ms,
        lastAttemptMs: row.last_attempt_ms,
        lastError: row.last_error,
        skippedRows: row.skipped_rows,
      };
      if (row.name === "utilization")
        feeds.utilization = { status, rows: JSON.parse(row.rows_json) as UtilizationRow[] };
      if (row.name === "models") feeds.models = { status, rows: JSON.parse(row.rows_json) as ModelEntry[] };
    }
    return feeds;
  }

  /** Writes a feed's rows and status together (one statement, so never half-written). */
  saveFeed(name: FeedName, status: FeedStatus, rows: readonly unknown[]): void {
    this.#sql.exec(
      `INSERT INTO feeds (name, rows_json, last_success_ms, last_attempt_ms, last_error, skipped_rows)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET rows_json = excluded.rows_json, last_success_ms = excluded.last_success_ms,
         last_attempt_ms = excluded.last_attempt_ms, last_error = excluded.last_error,
         skipped_rows = excluded.skipped_rows`,
      name,
      JSON.stringify(rows),
      status.lastSuccessMs,
      status.lastAttemptMs,
      status.lastError,
      status.skippedRows,
    );
  }

  /** Records a failed attempt without touching the last-known-good rows. */
  saveFeedFailure(name: FeedName, status: FeedStatus): void {
    this.#sql.exec(
      `INSERT INTO feeds (name, rows_json, last_success_ms, last_attempt_ms, last_error, skipped_rows)
       VALUES (?, '[]', ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET last_attempt_ms = excluded.last_attempt_ms, last_error = excluded.last_error`,
      name,
      status.lastSuccessMs,
      status.lastAttemptMs,
      status.lastError,
      status.skippedRows,
    );
  }

  loadBreakers(): Record<string, BreakerState> {
    const breakers: Record<string, BreakerState> = {};
    for (const row of this.#sql.exec<BreakerRow>("SELECT * FROM breakers")) {
      breakers[row.model] = { consecutiveFailures: row.consecutive_failures, openedAtMs: row.opened_at_ms };
    }
    return breakers;
  }

  saveBreaker(model: string, state: BreakerState): void {
    if (state.consecutiveFailures === 0 && state.openedAtMs === null) {
      this.#sql.exec("DELETE FROM breakers WHERE model = ?", model);
      return;
    }
    this.#sql.exec(
      `INSERT INTO breakers (model, consecutive_failures, opened_at_ms) VALUES (?, ?, ?)
       ON CONFLICT(model) DO UPDATE SET consecutive_failures = excluded.consecutive_failures,
         opened_at_ms = excluded.opened_at_ms`,
      model,
      state.consecutiveFailures,
      state.openedAtMs,
    );
  }

  loadModelStats(): Record<string, ModelStats> {
    const stats: Record<string, ModelStats> = {};
    for (const row of this.#sql.exec<{ model: string; stats_json: string }>("SELECT * FROM model_stats")) {
      stats[row.model] = JSON.parse(row.stats_json) as ModelStats;
    }
    return stats;
  }

  saveModelStats(model: string, stats: ModelStats): void {
    this.#sql.exec(
      `INSERT INTO model_stats (model, stats_json) VALUES (?, ?)
       ON CONFLICT(model) DO UPDATE SET stats_json = excluded.stats_json`,
      model,
      JSON.stringify(stats),
    );
  }

  addCounters(deltas: readonly CounterDelta[]): void {
    for (const { metric, labels, delta } of deltas) {
      this.#sql.exec(
        `INSERT INTO counters (metric, labels_json, value) VALUES (?, ?, ?)
         ON CONFLICT(metric, labels_json) DO UPDATE SET value = value + excluded.value`,
        metric,
        JSON.stringify(labels),
        delta,
      );
    }
  }

  loadCounters(): CounterDelta[] {
    return this.#sql
      .exec<{ metric: CounterDelta["metric"]; labels_json: string; value: number }>(
        "SELECT metric, labels_json, value FROM counters ORDER BY metric, labels_json",
      )
      .toArray()
      .map((row) => ({ metric: row.metric, labels: JSON.parse(row.labels_json), delta: row.value }));
  }

  /** Adds failover reasons to the current minute's bucket and drops buckets older than `keepMs`. */
  addRecentFailovers(deltas: readonly CounterDelta[], nowMs: number, keepMs: number): void {
    const minuteMs = nowMs - (nowMs % 60_000);
    for (const { metric, labels, delta } of deltas) {
      if (metric !== "failover_reason_total" || labels.reason === undefined) continue;
      this.#sql.exec(
        `INSERT INTO recent_failovers (minute_ms, reason, count) VALUES (?, ?, ?)
         ON CONFLICT(minute_ms, reason) DO UPDATE SET count = count + excluded.count`,
        minuteMs,
        labels.reason,
        delta,
      );
    }
    this.#sql.exec("DELETE FROM recent_failovers WHERE minute_ms < ?", nowMs - keepMs);
  }

  /** Failover reasons counted since `sinceMs` (minute buckets), most frequent first. */
  loadRecentFailovers(sinceMs: number): Array<{ reason: string; count: number }> {
    return this.#sql
      .exec<{ reason: string; count: number }>(
        `SELECT reason, SUM(count) AS count FROM recent_failovers WHERE minute_ms >= ?
         GROUP BY reason ORDER BY count DESC, reason`,
        sinceMs - (sinceMs % 60_000),
      )
      .toArray();
  }
}
