// One shard of the fleet's sticky assignments (client key → model), SQLite-backed. Keys are spread over
// STICKY_SHARD_COUNT objects so no single object carries every client; reads come only on an isolate's cache
// miss, and writes arrive batched per isolate (isolate/outcome-queue.ts).
import { DurableObject } from "cloudflare:workers";
import { readConfig } from "../config.ts";
import { isExpired, shardIndex } from "../core/sticky-table.ts";

/** How many shard objects the sticky assignments are spread over by default (STICKY_SHARDS). */
export const STICKY_SHARD_COUNT = 64;

/** The name of the shard object that holds a key, out of `shards`. */
export function stickyShardName(key: string, shards = STICKY_SHARD_COUNT): string {
  return `sticky-${shardIndex(key, shards)}`;
}

/**
 * A write for one key, computed by core/sticky-policy.ts once its request is done, stamped with the time the
 * request decided it. Batches from different isolates can arrive out of order: a write older than the stored
 * entry is ignored.
 */
export type StickyWrite = { key: string; model: string | null; atMs: number };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sticky (
  key TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sticky_by_age ON sticky (updated_ms);
CREATE INDEX IF NOT EXISTS sticky_by_seq ON sticky (seq);
`;

export class StickyShard extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
  }

  /** The key's model, or null when it has none or it expired. */
  lookup(key: string): string | null {
    const limits = this.#limits();
    const row = this.ctx.storage.sql
      .exec<{ model: string; updated_ms: number }>("SELECT model, updated_ms FROM sticky WHERE key = ?", key)
      .toArray()[0];
    if (!row) return null;
    if (isExpired(row.updated_ms, Date.now(), limits.ttlSeconds)) {
      this.ctx.storage.sql.exec("DELETE FROM sticky WHERE key = ?", key);
      return null;
    }
    return row.model;
  }

  /**
   * Applies writes in order (null forgets), newer-wins per key, then drops expired entries and the least
   * recently written beyond the cap.
   */
  apply(writes: StickyWrite[]): void {
    const limits = this.#limits();
    const nowMs = Date.now();
    const sql = this.ctx.storage.sql;
    for (const write of writes) {
      if (write.model === null) {
        sql.exec("DELETE FROM sticky WHERE key = ? AND updated_ms <= ?", write.key, write.atMs);
      } else {
        sql.exec(
          `INSERT INTO sticky (key, model, updated_ms, seq)
           VALUES (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sticky))
           ON CONFLICT(key) DO UPDATE SET model = excluded.model, updated_ms = excluded.updated_ms,
             seq = excluded.seq
           WHERE excluded.updated_ms >= sticky.updated_ms`,
          write.key,
          write.model,
          write.atMs,
        );
      }
    }
    sql.exec("DELETE FROM sticky WHERE updated_ms <= ?", nowMs - limits.ttlSeconds * 1000);
    sql.exec(
      `DELETE FROM sticky WHERE key IN (
         SELECT key FROM sticky ORDER BY seq DESC LIMIT -1 OFFSET ?)`,
      limits.maxEntries,
    );
  }

  /** How many live entries this shard holds (status and tests). */
  size(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sticky").one().n;
  }

  #limits() {
    const parsed = readConfig(this.env);
    return parsed.ok ? parsed.config.sticky : { ttlSeconds: 0, maxEntries: 0 };
  }
}
