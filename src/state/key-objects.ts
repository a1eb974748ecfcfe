// The managed keys' Durable Objects (docs/contract.md §15; tables in storage-schema.md). One KeyLedger per key,
// named by its id, holds the key's record (limits, hashes, revocation) and its ledger (spend, rate windows,
// isolates' leases): every limit is enforced there, so it holds fleet-wide, and only that key's traffic
// reaches it. One KeyDirectory maps a secret's hash to its key id and lists the keys; an isolate asks it
// once per key it has not seen, and the admin API when it lists keys.
import { DurableObject } from "cloudflare:workers";
import {
  describeLedger,
  type LedgerState,
  type LedgerSummary,
  newLedger,
  type SyncReply,
  type SyncRequest,
  syncLease,
} from "../core/key-ledger.ts";
import { type KeyLimits, type KeyRecord, type KeyStatus, keyStatus } from "../core/managed-key.ts";

/** What the admin API shows of a key: its record (hashes aside), status and ledger. */
export interface KeyDescription {
  record: Omit<KeyRecord, "hashes">;
  status: KeyStatus;
  ledger: LedgerSummary;
  /** When the secret a rotation replaced stops working, while it still works. */
  previousKeyValidUntilMs: number | null;
}

export type KeyChange = Partial<KeyLimits> & { name?: string };

const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS key_ledger (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  record_json TEXT NOT NULL,
  state_json TEXT NOT NULL
);
`;

export class KeyLedger extends DurableObject<Env> {
  #record: KeyRecord | null = null;
  #state: LedgerState | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(LEDGER_SCHEMA);
    const row = ctx.storage.sql
      .exec<{ record_json: string; state_json: string }>("SELECT record_json, state_json FROM key_ledger")
      .toArray()[0];
    if (row) {
      this.#record = JSON.parse(row.record_json) as KeyRecord;
      this.#state = JSON.parse(row.state_json) as LedgerState;
    }
  }

  /** Stores a new key; false when this id already has one. */
  create(record: KeyRecord): boolean {
    if (this.#record) return false;
    this.#record = record;
    this.#state = newLedger(record.limits.budgetPeriod, Date.now());
    this.#save();
    return true;
  }

  /** An isolate checks in (core/key-ledger.ts); null when there is no such key. */
  sync(request: SyncRequest): SyncReply | null {
    if (!this.#record || !this.#state) return null;
    const reply = syncLease(this.#record, this.#state, request, Date.now());
    this.#save();
    return reply;
  }

  describe(): KeyDescription | null {
    if (!this.#record || !this.#state) return null;
    const nowMs = Date.now();
    const { hashes, ...record } = this.#record;
    const previous = hashes.find((entry) => entry.untilMs !== null && entry.untilMs > nowMs);
    return {
      record,
      status: keyStatus(this.#record, nowMs),
      ledger: describeLedger(this.#record, this.#state, nowMs),
      previousKeyValidUntilMs: previous?.untilMs ?? null,
    };
  }

  /** Changes a key's name or limits; a new budget period starts counting from its current period. */
  update(change: KeyChange): KeyDescription | null {
    if (!this.#record || !this.#state) return null;
    const { name, ...limits } = change;
    const before = this.#record.limits.budgetPeriod;
    this.#record = {
      ...this.#record,
      name: name ?? this.#record.name,
      limits: { ...this.#record.limits, ...limits },
    };
    if (this.#record.limits.budgetPeriod !== before) {
      // Spend so far stays counted in the new period, so changing the period never frees budget.
      this.#state.periodStartMs = newLedger(this.#record.limits.budgetPeriod, Date.now()).periodStartMs;
    }
    this.#save();
    return this.describe();
  }

  /** Ends every secret of the key; isolates learn it at their next sync, within a lease (4 s). */
  revoke(): KeyDescription | null {
    if (!this.#record) return null;
    if (this.#record.revokedMs === null) this.#record = { ...this.#record, revokedMs: Date.now() };
    this.#save();
    return this.describe();
  }

  /** Adds a new secret's hash; the current one keeps working until `previousUntilMs`. */
  rotate(hash: string, prefix: string, previousUntilMs: number): KeyDescription | null {
    if (!this.#record || this.#record.revokedMs !== null) return null;
    const nowMs = Date.now();
    const kept = this.#record.hashes
      .filter((entry) => entry.untilMs === null || entry.untilMs > nowMs)
      .map((entry) => ({
        hash: entry.hash,
        untilMs: Math.min(entry.untilMs ?? previousUntilMs, previousUntilMs),
      }));
    this.#record = { ...this.#record, prefix, hashes: [...kept, { hash, untilMs: null }] };
    this.#save();
    return this.describe();
  }

  #save(): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO key_ledger (id, record_json, state_json) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET record_json = excluded.record_json, state_json = excluded.state_json`,
      JSON.stringify(this.#record),
      JSON.stringify(this.#state),
    );
  }
}

const DIRECTORY_SCHEMA = `
CREATE TABLE IF NOT EXISTS managed_keys (
  id TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS key_hashes (
  hash TEXT PRIMARY KEY,
  id TEXT NOT NULL
);
`;

export class KeyDirectory extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(DIRECTORY_SCHEMA);
  }

  /** Records a key id and a secret hash that opens it. */
  add(id: string, hash: string): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO managed_keys (id, created_ms) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
      id,
      Date.now(),
    );
    this.ctx.storage.sql.exec(
      "INSERT INTO key_hashes (hash, id) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
      hash,
      id,
    );
  }

  resolve(hash: string): string | null {
    const row = this.ctx.storage.sql
      .exec<{ id: string }>("SELECT id FROM key_hashes WHERE hash = ?", hash)
      .toArray()[0];
    return row?.id ?? null;
  }

  /** Every key id, oldest first. */
  list(): string[] {
    return this.ctx.storage.sql
      .exec<{ id: string }>("SELECT id FROM managed_keys ORDER BY created_ms, id")
      .toArray()
      .map((row) => row.id);
  }
}

/** The one directory object. */
export function keyDirectoryStub(env: Env): DurableObjectStub<KeyDirectory> {
  return env.KEY_DIRECTORY.getByName("directory");
}

/** A key's ledger object. */
export function keyLedgerStub(env: Env, id: string): DurableObjectStub<KeyLedger> {
  return env.KEY_LEDGER.getByName(id);
}
