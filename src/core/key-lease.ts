// One isolate's side of a managed key's lease (docs/contract.md §15; the ledger is core/key-ledger.ts): a
// request is admitted here, without a Durable Object call, when the lease still runs and has a request, a
// slot, and the tokens and dollars its estimate needs. The estimate is reserved while the request runs and
// settled to the actual amount when its answer ends; the difference goes back to the lease. What the isolate
// did since it last synced travels with its next sync.
import type {
  LeaseGrant,
  LeaseHeld,
  LeaseNeed,
  LeaseUsed,
  RateState,
  SyncReply,
  SyncRequest,
} from "./key-ledger.ts";
import { LEASE_MS, requestNeed } from "./key-ledger.ts";
import type { KeyRecord, KeyStatus } from "./managed-key.ts";
import { type Amounts, addInto, mapQuota, NO_AMOUNTS, shiftAllowance, shortfall } from "./quota.ts";

export interface LocalLease {
  /** The seq of the newest sync whose reply was applied. */
  seqApplied: number;
  record: KeyRecord;
  status: KeyStatus;
  grant: LeaseGrant;
  /** What the requests admitted and not yet settled hold; `held.requests` is how many there are. */
  held: LeaseHeld;
  used: LeaseUsed;
  expiresMs: number;
  syncedMs: number;
  rate: RateState;
  lastAdmittedMs: number | null;
}

/** What one admitted request holds until its answer ends: itself, a slot if the key limits them, its estimate. */
export type Reservation = Amounts;

/** What an answer actually used. */
export interface ActualUse {
  promptTokens: number;
  completionTokens: number;
  usd: number;
}

/** A sync on its way: what was sent, so what happens meanwhile can be carried over onto the new grant. */
export interface SyncInFlight {
  request: SyncRequest;
  grantAtSend: LeaseGrant;
}

export const NOTHING_USED: LeaseUsed = {
  requests: 0,
  promptTokens: 0,
  completionTokens: 0,
  usd: 0,
  lastUsedMs: null,
};
export const NOTHING_HELD: LeaseHeld = NO_AMOUNTS;

export function leaseFromReply(reply: SyncReply, seq: number, nowMs: number): LocalLease {
  return {
    seqApplied: seq,
    record: reply.record,
    status: reply.status,
    grant: { ...reply.grant },
    held: { ...NOTHING_HELD },
    used: { ...NOTHING_USED },
    expiresMs: reply.expiresMs,
    syncedMs: nowMs,
    rate: reply.rate,
    lastAdmittedMs: null,
  };
}

export function isLeaseLive(lease: LocalLease, nowMs: number): boolean {
  return nowMs < lease.expiresMs;
}

/**
 * Takes what one request needs from a live lease; null when the lease cannot cover it and the ledger must be
 * asked (which may still admit it, or says why not).
 */
export function tryReserve(lease: LocalLease, need: LeaseNeed, nowMs: number): Reservation | null {
  if (!isLeaseLive(lease, nowMs) || lease.status !== "active") return null;
  if (shortfall(lease.grant, requestNeed(need)) !== null) return null;
  const slots = lease.grant.slots === null ? 0 : 1;
  const reservation: Reservation = { requests: 1, slots, tokens: need.tokens, usd: need.usd };
  lease.grant = shiftAllowance(lease.grant, reservation, -1);
  addInto(lease.held, reservation);
  lease.used.requests += 1;
  lease.used.lastUsedMs = nowMs;
  lease.lastAdmittedMs = nowMs;
  return reservation;
}

/**
 * A request's answer ended: its reservation is released, what it used is recorded for the next sync, and
 * what it reserved beyond that goes back to the lease (or, when it used more, comes out of it). Its request
 * stays counted.
 */
export function settleReservation(lease: LocalLease, reservation: Reservation, actual: ActualUse): void {
  const tokens = actual.promptTokens + actual.completionTokens;
  addInto(lease.held, reservation, -1);
  const unspent = {
    ...reservation,
    requests: 0,
    tokens: reservation.tokens - tokens,
    usd: reservation.usd - actual.usd,
  };
  lease.grant = shiftAllowance(lease.grant, unspent, 1);
  lease.used.promptTokens += actual.promptTokens;
  lease.used.completionTokens += actual.completionTokens;
  lease.used.usd += actual.usd;
}

/** Starts a sync: what was used moves into the request, and the grant is remembered as it was. */
export function beginSync(
  lease: LocalLease,
  isolate: string,
  seq: number,
  need: LeaseNeed | null,
  renew: boolean,
): SyncInFlight {
  // A last report gives the grant back as it leaves: requests arriving meanwhile go to the ledger.
  if (!renew) lease.grant = zeroedGrant(lease.grant);
  const unused = mapQuota(lease.grant, (value) => (value === null ? null : Math.max(0, value)));
  const request: SyncRequest = {
    isolate,
    seq,
    used: lease.used,
    held: { ...lease.held },
    unused,
    need,
    renew,
  };
  lease.used = { ...NOTHING_USED };
  return { request, grantAtSend: { ...lease.grant } };
}

function zeroedGrant(grant: LeaseGrant): LeaseGrant {
  return mapQuota(grant, (value) => (value === null ? null : Math.min(0, value)));
}

/** A sync failed: what it carried is kept for the next one. */
export function abandonSync(lease: LocalLease, sync: SyncInFlight): void {
  const sent = sync.request.used;
  lease.used.requests += sent.requests;
  lease.used.promptTokens += sent.promptTokens;
  lease.used.completionTokens += sent.completionTokens;
  lease.used.usd += sent.usd;
  if (sent.lastUsedMs !== null) lease.used.lastUsedMs = Math.max(lease.used.lastUsedMs ?? 0, sent.lastUsedMs);
}

/**
 * The ledger's answer arrived. The new grant replaces the old, less what requests took from the old one
 * while the sync was on its way (the ledger counted the grant as it was when the sync left).
 */
export function applySyncReply(lease: LocalLease, sync: SyncInFlight, reply: SyncReply, nowMs: number): void {
  lease.record = reply.record;
  lease.status = reply.status;
  // A reply older than one applied already grants nothing this isolate still holds.
  if (reply.stale || sync.request.seq <= lease.seqApplied) return;
  lease.seqApplied = sync.request.seq;
  const carried = (fresh: number | null, atSend: number | null, now: number | null) =>
    fresh === null || atSend === null || now === null ? fresh : fresh - (atSend - now);
  const { grant } = lease;
  lease.grant = mapQuota(reply.grant, (fresh, field) =>
    carried(fresh, sync.grantAtSend[field], grant[field]),
  );
  lease.expiresMs = reply.expiresMs;
  lease.syncedMs = nowMs;
  lease.rate = reply.rate;
}

/** Whether the isolate is busy with the key: a request in flight, or one admitted within `withinMs`. */
export function isBusy(lease: LocalLease, nowMs: number, withinMs: number): boolean {
  return (
    lease.held.requests > 0 || (lease.lastAdmittedMs !== null && nowMs - lease.lastAdmittedMs < withinMs)
  );
}

/**
 * Whether to sync in the background now: the lease is past half its life, or it has no request or slot
 * left, so a busy isolate renews before a request has to wait.
 */
export function wantsRenewal(lease: LocalLease, nowMs: number): boolean {
  if (nowMs - lease.syncedMs >= LEASE_MS / 2) return true;
  const { grant } = lease;
  return (grant.requests !== null && grant.requests < 1) || (grant.slots !== null && grant.slots < 1);
}
