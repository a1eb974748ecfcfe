// This isolate's word with each managed key's ledger (docs/contract.md §15; the lease arithmetic is
// core/key-lease.ts): one sync per key under way at a time, so the ledger always has this isolate's latest
// word, and background syncs that report what answers used and renew a busy isolate's lease. A request that
// needs the ledger while another request's sync is on its way polls for it rather than awaiting that
// request's promise (the runtime cancels continuations one request resolves for another).
import {
  abandonSync,
  applySyncReply,
  beginSync,
  isBusy,
  type LocalLease,
  leaseFromReply,
  NOTHING_HELD,
  NOTHING_USED,
  type SyncInFlight,
} from "../core/key-lease.ts";
import type { LeaseNeed, SyncReply, SyncRequest } from "../core/key-ledger.ts";
import { UNLIMITED } from "../core/quota.ts";

/** How often a request waiting on another request's sync looks again, and for how long at most. */
const POLL_MS = 2;
const POLL_LIMIT_MS = 5_000;

/** One key as this isolate knows it. */
export interface KeyEntry {
  id: string;
  lease: LocalLease | null;
  lastSeq: number;
  syncing: boolean;
  reportScheduled: boolean;
}

export interface KeySyncOptions {
  /** The key's ledger: records use, returns a new lease; null when the key does not exist. */
  sync(id: string, request: SyncRequest): Promise<SyncReply | null>;
  isolateId: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Keys remembered; the oldest is forgotten past this. */
  maxKeys: number;
}

export interface KeySync {
  entryFor(id: string): KeyEntry;
  /** Waits until no sync of the entry is under way; false if that took too long. */
  waitForSync(entry: KeyEntry): Promise<boolean>;
  /** One sync with the ledger, applied to the entry; null when it failed or the key is gone. */
  sync(entry: KeyEntry, need: LeaseNeed | null, renew?: boolean): Promise<SyncReply | null>;
  /**
   * A sync in this request's waitUntil, after `delayMs`, unless one is already scheduled or under way. It
   * renews the grant only while the isolate is busy with the key (a request in flight, or one admitted
   * within `busyWithinMs`); a quiet isolate's last report gives it back.
   */
  syncLater(
    entry: KeyEntry,
    delayMs: number,
    busyWithinMs: number,
    waitUntil: (promise: Promise<unknown>) => void,
  ): void;
  /** Nothing scheduled or under way. */
  idle(): boolean;
}

export function createKeySync(options: KeySyncOptions): KeySync {
  const { now, sleep, isolateId } = options;
  const entries = new Map<string, KeyEntry>();

  const waitForSync = async (entry: KeyEntry): Promise<boolean> => {
    const deadline = now() + POLL_LIMIT_MS;
    while (entry.syncing) {
      if (now() > deadline) return false;
      await sleep(POLL_MS);
    }
    return true;
  };

  const sync = async (entry: KeyEntry, need: LeaseNeed | null, renew = true): Promise<SyncReply | null> => {
    // Claimed before any await, so a request arriving meanwhile sees this sync under way and waits for it.
    while (entry.syncing) if (!(await waitForSync(entry))) return null;
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
            unused: UNLIMITED,
            need,
            renew,
          },
          grantAtSend: UNLIMITED,
        };
    try {
      const reply = await options.sync(entry.id, inFlight.request);
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

  return {
    entryFor(id) {
      let entry = entries.get(id);
      if (!entry) {
        if (entries.size >= options.maxKeys) entries.delete(entries.keys().next().value as string);
        entry = { id, lease: null, lastSeq: 0, syncing: false, reportScheduled: false };
        entries.set(id, entry);
      }
      return entry;
    },
    waitForSync,
    sync,
    syncLater(entry, delayMs, busyWithinMs, waitUntil) {
      if (entry.reportScheduled || entry.syncing) return;
      entry.reportScheduled = true;
      waitUntil(
        (async () => {
          if (delayMs > 0) await sleep(delayMs);
          entry.reportScheduled = false;
          const busy = entry.lease ? isBusy(entry.lease, now(), busyWithinMs) : false;
          if (!entry.syncing) await sync(entry, null, busy);
        })(),
      );
    },
    idle: () => [...entries.values()].every((entry) => !entry.reportScheduled && !entry.syncing),
  };
}
