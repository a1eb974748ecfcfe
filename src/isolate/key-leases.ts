// This isolate's managed-key leases (docs/contract.md §15), per env: which key a presented secret's hash
// belongs to, and each key's lease (core/key-lease.ts). A warm request is admitted from the lease with no
// Durable Object call. The calls happen when a key is first seen here or its lease ran out (the request
// waits: a cold start), when a lease cannot cover a request (the ledger decides), and in the background:
// renewing a busy lease before it runs out and reporting what answers used, at most once a second per key.
// One sync per key is under way at a time, so the ledger always has this isolate's latest word; a request
// that needs the ledger while another request's sync is on its way polls for it rather than awaiting that
// request's promise (the runtime cancels continuations one request resolves for another).

import {
  type ActualUse,
  abandonSync,
  applySyncReply,
  beginSync,
  cancelReservation,
  isBusy,
  isLeaseLive,
  type LocalLease,
  leaseFromReply,
  NOTHING_HELD,
  NOTHING_USED,
  type Reservation,
  type SyncInFlight,
  settleReservation,
  tryReserve,
  wantsRenewal,
} from "../core/key-lease.ts";
import type { LeaseNeed, LeaseRefusal, RateState, SyncReply, SyncRequest } from "../core/key-ledger.ts";
import { acceptsHash, type KeyLimits } from "../core/managed-key.ts";

/** How long an unknown key's hash is remembered as unknown, sparing the directory a flood of bad keys. */
const UNKNOWN_KEY_MS = 2_000;
/** A finished answer's use reaches the ledger within this (batched per key). */
const REPORT_DELAY_MS = 1_000;
/** Keys remembered per isolate; the oldest is forgotten past this. */
const MAX_KEYS = 10_000;
/** How often a request waiting on another request's sync looks again, and for how long at most. */
const POLL_MS = 2;
const POLL_LIMIT_MS = 5_000;
const NO_GRANT = { requests: null, slots: null, tokens: null, usd: null };

/** The objects behind the leases. */
export interface KeyServices {
  /** The key id a secret's hash belongs to, or null. */
  resolve(hash: string): Promise<string | null>;
  /** The key's ledger: records use, returns a new lease; null when the key does not exist. */
  sync(id: string, request: SyncRequest): Promise<SyncReply | null>;
}

interface KeyEntry {
  id: string;
  lease: LocalLease | null;
  lastSeq: number;
  syncing: boolean;
  reportScheduled: boolean;
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

export interface KeyLeases {
  /** Whether the secret hashing to `hash` opens a managed key now. */
  admit(hash: string, nowMs: number, waitUntil: (promise: Promise<unknown>) => void): Promise<Admission>;
  /** Reserves one request's needs from the key's lease, asking the ledger when the lease cannot cover them. */
  reserve(
    key: AdmittedKey,
    need: LeaseNeed,
    nowMs: number,
    waitUntil: (promise: Promise<unknown>) => void,
  ): Promise<ReserveResult>;
  /** A request's answer ended: settles its reservation to what it used and reports it soon. */
  settle(
    key: AdmittedKey,
    reservation: Reservation,
    actual: ActualUse,
    waitUntil: (promise: Promise<unknown>) => void,
  ): void;
  /** A request refused after its reservation: everything goes back. */
  cancel(key: AdmittedKey, reservation: Reservation): void;
  /** Nothing scheduled (tests wait for this). */
  idle(): boolean;
  /** Ledger and directory calls requests waited for, since the isolate started (the benchmark reads this). */
  stats(): { "KeyDirectory.resolve": number; "KeyLedger.sync": number };
}

export function createKeyLeases(services: KeyServices, isolateId: string, now: () => number): KeyLeases {
  /** Secret hash → key id, for keys seen here. */
  const ids = new Map<string, string>();
  const entries = new Map<string, KeyEntry>();
  const unknownUntil = new Map<string, number>();
  const awaited = { "KeyDirectory.resolve": 0, "KeyLedger.sync": 0 };

  const entryFor = (id: string): KeyEntry => {
    let entry = entries.get(id);
    if (!entry) {
      if (entries.size >= MAX_KEYS) entries.delete(entries.keys().next().value as string);
      entry = { id, lease: null, lastSeq: 0, syncing: false, reportScheduled: false };
      entries.set(id, entry);
    }
    return entry;
  };

  /** Waits until no sync of the entry is under way; false if that took too long. */
  const waitForSync = async (entry: KeyEntry): Promise<boolean> => {
    const deadline = now() + POLL_LIMIT_MS;
    while (entry.syncing) {
      if (now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return true;
  };

  /** One sync with the ledger, applied to the entry; null when it failed or the key is gone. */
  const sync = async (entry: KeyEntry, need: LeaseNeed | null, renew = true): Promise<SyncReply | null> => {
    if (!(await waitForSync(entry))) return null;
    entry.syncing = true;
    entry.lastSeq += 1;
    const seq = entry.lastSeq;
    const lease = entry.lease;
    const inFlight: SyncInFlight = lease
      ? beginSync(lease, isolateId, seq, need, renew)
      : {
          request: {
            isolate: isolateId,
            seq,
            used: { ...NOTHING_USED },
            held: { ...NOTHING_HELD },
            unused: NO_GRANT,
            need,
            renew,
          },
          grantAtSend: NO_GRANT,
        };
    try {
      const reply = await services.sync(entry.id, inFlight.request);
      if (!reply) return null;
      if (entry.lease) applySyncReply(entry.lease, inFlight, reply, now());
      else if (!reply.stale) entry.lease = leaseFromReply(reply, seq, now());
      return reply;
    } catch (error) {
      console.error(JSON.stringify({ event: "key_sync_failed", key: entry.id, error: String(error) }));
      if (lease) abandonSync(lease, inFlight);
      return null;
    } finally {
      entry.syncing = false;
    }
  };

  /**
   * A sync in this request's waitUntil, after `delayMs`, unless one is already scheduled or under way. It
   * renews the grant only while the isolate is busy with the key; a quiet isolate's last report gives it back.
   */
  const syncLater = (entry: KeyEntry, delayMs: number, waitUntil: (promise: Promise<unknown>) => void) => {
    if (entry.reportScheduled || entry.syncing) return;
    entry.reportScheduled = true;
    waitUntil(
      (async () => {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        entry.reportScheduled = false;
        const busy = entry.lease ? isBusy(entry.lease, now(), REPORT_DELAY_MS) : false;
        if (!entry.syncing) await sync(entry, null, busy);
      })(),
    );
  };

  return {
    async admit(hash, nowMs, waitUntil) {
      if ((unknownUntil.get(hash) ?? 0) > nowMs) return { kind: "unknown" };
      let id = ids.get(hash);
      let cold = false;
      if (id === undefined) {
        let resolved: string | null;
        try {
          awaited["KeyDirectory.resolve"] += 1;
          resolved = await services.resolve(hash);
        } catch (error) {
          console.error(JSON.stringify({ event: "key_resolve_failed", error: String(error) }));
          return { kind: "unavailable" };
        }
        if (resolved === null) {
          if (unknownUntil.size >= MAX_KEYS) unknownUntil.clear();
          unknownUntil.set(hash, nowMs + UNKNOWN_KEY_MS);
          return { kind: "unknown" };
        }
        if (ids.size >= MAX_KEYS) ids.clear();
        ids.set(hash, resolved);
        id = resolved;
        cold = true;
      }
      const entry = entryFor(id);
      if (!entry.lease || !isLeaseLive(entry.lease, nowMs)) {
        cold = true;
        // Another request may be renewing it right now: its reply will do.
        if (entry.syncing) await waitForSync(entry);
        if (!entry.lease || !isLeaseLive(entry.lease, now())) {
          awaited["KeyLedger.sync"] += 1;
          const reply = await sync(entry, null);
          if (!reply || !entry.lease) return { kind: "unavailable" };
        }
      } else if (wantsRenewal(entry.lease, nowMs)) {
        syncLater(entry, 0, waitUntil);
      }
      const lease = entry.lease;
      if (!lease || !acceptsHash(lease.record, hash, now())) return { kind: "unknown" };
      return { kind: "admitted", key: { id: entry.id, limits: lease.record.limits, entry }, cold };
    },

    async reserve(key, need, nowMs, waitUntil) {
      const { entry } = key;
      if (!entry.lease) return { ok: false, refusal: "unavailable" };
      const local = tryReserve(entry.lease, need, nowMs);
      if (local) {
        if (wantsRenewal(entry.lease, nowMs)) syncLater(entry, 0, waitUntil);
        return { ok: true, reservation: local, cold: false };
      }
      // The lease cannot cover it: the ledger decides. A sync already on its way may bring enough.
      for (let round = 0; round < 3; round++) {
        if (entry.syncing) {
          if (!(await waitForSync(entry))) break;
          const covered = entry.lease ? tryReserve(entry.lease, need, now()) : null;
          if (covered) return { ok: true, reservation: covered, cold: true };
        }
        awaited["KeyLedger.sync"] += 1;
        const reply = await sync(entry, need);
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
      const lease = key.entry.lease;
      if (!lease) return;
      settleReservation(lease, reservation, actual);
      syncLater(key.entry, REPORT_DELAY_MS, waitUntil);
    },

    cancel(key, reservation) {
      const lease = key.entry.lease;
      if (lease) cancelReservation(lease, reservation);
    },

    stats() {
      return { ...awaited };
    },

    idle() {
      return [...entries.values()].every((entry) => !entry.reportScheduled && !entry.syncing);
    },
  };
}

export type { ActualUse, Reservation };
