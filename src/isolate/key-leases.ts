// This isolate's managed-key leases (docs/contract.md §15), per env: a warm request is admitted and charged
// from its key's lease (core/key-lease.ts) with no Durable Object call. The calls happen when a key is first
// seen here (key-ids.ts) or its lease ran out (the request waits: a cold start), when a lease cannot cover a
// request (the ledger decides), and in the background (key-sync.ts): renewing a busy lease before it runs out
// and reporting what answers used, at most once a second per key.
import {
  type ActualUse,
  isLeaseLive,
  type Reservation,
  settleReservation,
  tryReserve,
  wantsRenewal,
} from "../core/key-lease.ts";
import type { LeaseNeed, LeaseRefusal, RateState, SyncReply, SyncRequest } from "../core/key-ledger.ts";
import { acceptsHash, type KeyLimits } from "../core/managed-key.ts";
import { createKeyIds } from "./key-ids.ts";
import { createKeySync, type KeyEntry } from "./key-sync.ts";

/** A finished answer's use reaches the ledger within this (batched per key). */
export const REPORT_DELAY_MS = 1_000;
/** Keys remembered per isolate; the oldest is forgotten past this. */
const MAX_KEYS = 10_000;

/** The objects behind the leases. */
export interface KeyServices {
  /** The key id a secret's hash belongs to, or null. */
  resolve(hash: string): Promise<string | null>;
  /** The key's ledger: records use, returns a new lease; null when the key does not exist. */
  sync(id: string, request: SyncRequest): Promise<SyncReply | null>;
}

/** A managed key let in: what later stages check and charge. */
export interface AdmittedKey {
  readonly id: string;
  readonly limits: KeyLimits;
  readonly entry: KeyEntry;
}

export type Admission =
  | { kind: "admitted"; key: AdmittedKey; cold: boolean }
  | { kind: "unknown" }
  | { kind: "unavailable" };

export type ReserveResult =
  | { ok: true; reservation: Reservation; cold: boolean }
  | { ok: false; refusal: LeaseRefusal; retryAfterMs: number | null; rate: RateState }
  /** The key was revoked or expired since it was admitted, or the ledger could not be reached. */
  | { ok: false; refusal: "inactive" | "unavailable" };

type WaitUntil = (promise: Promise<unknown>) => void;

export interface KeyLeases {
  /** Whether the secret hashing to `hash` opens a managed key now. */
  admit(hash: string, nowMs: number, waitUntil: WaitUntil): Promise<Admission>;
  /** Reserves one request's needs from the key's lease, asking the ledger when the lease cannot cover them. */
  reserve(key: AdmittedKey, need: LeaseNeed, nowMs: number, waitUntil: WaitUntil): Promise<ReserveResult>;
  /** A request's answer ended: settles its reservation to what it used and reports it soon. */
  settle(key: AdmittedKey, reservation: Reservation, actual: ActualUse, waitUntil: WaitUntil): void;
  /** Nothing scheduled (tests wait for this). */
  idle(): boolean;
  /** Ledger and directory calls requests waited for, since the isolate started (the benchmark reads this). */
  stats(): { "KeyDirectory.resolve": number; "KeyLedger.sync": number };
}

export function createKeyLeases(
  services: KeyServices,
  isolateId: string,
  now: () => number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): KeyLeases {
  const ids = createKeyIds((hash) => services.resolve(hash), MAX_KEYS);
  const keys = createKeySync({ sync: services.sync, isolateId, now, sleep, maxKeys: MAX_KEYS });
  let ledgerWaits = 0;

  /** A sync the request waits for. */
  const syncNow = (entry: KeyEntry, need: LeaseNeed | null) => {
    ledgerWaits += 1;
    return keys.sync(entry, need);
  };
  const renewSoon = (entry: KeyEntry, nowMs: number, waitUntil: WaitUntil) => {
    if (entry.lease && wantsRenewal(entry.lease, nowMs)) keys.syncLater(entry, 0, REPORT_DELAY_MS, waitUntil);
  };

  return {
    async admit(hash, nowMs, waitUntil) {
      const found = await ids.lookup(hash, nowMs);
      if (found.kind !== "known") return found;
      let cold = found.cold;
      const entry = keys.entryFor(found.id);
      if (entry.lease && isLeaseLive(entry.lease, nowMs)) {
        renewSoon(entry, nowMs, waitUntil);
      } else {
        cold = true;
        // Another request may be renewing it right now: its reply will do.
        if (entry.syncing) await keys.waitForSync(entry);
        if (!entry.lease || !isLeaseLive(entry.lease, now())) {
          const reply = await syncNow(entry, null);
          if (!reply || !entry.lease) return { kind: "unavailable" };
        }
      }
      const { lease } = entry;
      if (!lease || !acceptsHash(lease.record, hash, now())) return { kind: "unknown" };
      return { kind: "admitted", key: { id: entry.id, limits: lease.record.limits, entry }, cold };
    },

    async reserve(key, need, nowMs, waitUntil) {
      const { entry } = key;
      if (!entry.lease) return { ok: false, refusal: "unavailable" };
      const local = tryReserve(entry.lease, need, nowMs);
      if (local) {
        renewSoon(entry, nowMs, waitUntil);
        return { ok: true, reservation: local, cold: false };
      }
      // The lease cannot cover it: the ledger decides. A sync already on its way may bring enough.
      for (let round = 0; round < 3; round++) {
        if (entry.syncing) {
          if (!(await keys.waitForSync(entry))) break;
          const covered = entry.lease ? tryReserve(entry.lease, need, now()) : null;
          if (covered) return { ok: true, reservation: covered, cold: true };
        }
        const reply = await syncNow(entry, need);
        if (!reply) break;
        if (reply.status !== "active") return { ok: false, refusal: "inactive" };
        const reservation = entry.lease ? tryReserve(entry.lease, need, now()) : null;
        if (reservation) return { ok: true, reservation, cold: true };
        if (reply.refusal)
          return { ok: false, refusal: reply.refusal, retryAfterMs: reply.retryAfterMs, rate: reply.rate };
      }
      return { ok: false, refusal: "unavailable" };
    },

    settle(key, reservation, actual, waitUntil) {
      const { lease } = key.entry;
      if (!lease) return;
      settleReservation(lease, reservation, actual);
      keys.syncLater(key.entry, REPORT_DELAY_MS, REPORT_DELAY_MS, waitUntil);
    },

    stats: () => ({ "KeyDirectory.resolve": ids.resolves(), "KeyLedger.sync": ledgerWaits }),
    idle: () => keys.idle(),
  };
}

export type { ActualUse, Reservation };
