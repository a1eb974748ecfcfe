import { describe, expect, it } from "vitest";
import { keyRecord } from "../../test/support/key-records.ts";
import {
  abandonSync,
  applySyncReply,
  beginSync,
  isBusy,
  type LocalLease,
  leaseFromReply,
  NOTHING_HELD,
  NOTHING_USED,
  settleReservation,
  tryReserve,
  wantsRenewal,
} from "./key-lease.ts";
import {
  LEASE_MS,
  type LeaseNeed,
  type LedgerState,
  newLedger,
  type SyncReply,
  syncLease,
} from "./key-ledger.ts";
import type { KeyLimits, KeyRecord } from "./managed-key.ts";
import { UNLIMITED } from "./quota.ts";

const NOON = Date.parse("2026-11-25T12:00:00Z");
const SMALL: LeaseNeed = { tokens: 1_000, usd: 0.01 };
const FREE: LeaseNeed = { tokens: 0, usd: 0 };
const LIMITED: Partial<KeyLimits> = { rpm: 100, tpm: 1_000_000, maxConcurrency: 8, budgetUsd: 10 };

/** A key's ledger and one isolate's lease on it, as the isolate gets it on its first sync. */
function leaseOn(record: KeyRecord, nowMs = NOON, need: LeaseNeed | null = null) {
  const state: LedgerState = newLedger(record.limits.budgetPeriod, nowMs);
  const reply = syncLease(
    record,
    state,
    {
      isolate: "a",
      seq: 1,
      used: { ...NOTHING_USED },
      held: NOTHING_HELD,
      unused: UNLIMITED,
      need,
      renew: true,
    },
    nowMs,
  );
  return { state, reply, lease: leaseFromReply(reply, 1, nowMs) };
}

function copy(lease: LocalLease): LocalLease {
  return structuredClone(lease);
}

describe("admitting from a lease", () => {
  it("takes a request, a slot and the estimate from a live lease, and holds them", () => {
    const { lease } = leaseOn(keyRecord(LIMITED));
    const before = copy(lease).grant;
    const reservation = tryReserve(lease, SMALL, NOON + 10);
    expect(reservation).toEqual({ requests: 1, slots: 1, tokens: 1_000, usd: 0.01 });
    expect(lease.grant.requests).toBe((before.requests as number) - 1);
    expect(lease.grant.slots).toBe((before.slots as number) - 1);
    expect(lease.grant.tokens).toBe((before.tokens as number) - 1_000);
    expect(lease.grant.usd).toBeCloseTo((before.usd as number) - 0.01, 12);
    expect(lease.held).toEqual({ requests: 1, slots: 1, tokens: 1_000, usd: 0.01 });
    expect(lease.used.requests).toBe(1);
    expect(lease.used.lastUsedMs).toBe(NOON + 10);
  });

  it("admits from a key without limits and reserves no slot", () => {
    const { lease } = leaseOn(keyRecord({}));
    const reservation = tryReserve(lease, SMALL, NOON);
    expect(reservation).toEqual({ requests: 1, slots: 0, tokens: 1_000, usd: 0.01 });
    expect(lease.grant).toEqual({ requests: null, slots: null, tokens: null, usd: null });
    expect(lease.held.slots).toBe(0);
  });

  it("admits up to the last millisecond of the lease, and not after", () => {
    const { lease, reply } = leaseOn(keyRecord(LIMITED));
    expect(tryReserve(copy(lease), SMALL, reply.expiresMs - 1)).not.toBeNull();
    const before = copy(lease);
    expect(tryReserve(lease, SMALL, reply.expiresMs)).toBeNull();
    expect(lease).toEqual(before);
  });

  it("refuses once the lease has no request left", () => {
    const { lease } = leaseOn(keyRecord({ rpm: 10 }));
    const granted = lease.grant.requests as number;
    for (let i = 0; i < granted; i++) expect(tryReserve(lease, FREE, NOON)).not.toBeNull();
    const before = copy(lease);
    expect(tryReserve(lease, FREE, NOON)).toBeNull();
    expect(lease).toEqual(before);
  });

  it("refuses once the lease has no slot left, and admits again when a request ends", () => {
    const { lease } = leaseOn(keyRecord({ maxConcurrency: 4 }));
    const granted = lease.grant.slots as number;
    const reservations = Array.from({ length: granted }, () => tryReserve(lease, FREE, NOON));
    expect(reservations.every((reservation) => reservation !== null)).toBe(true);
    expect(tryReserve(lease, FREE, NOON)).toBeNull();
    const [first] = reservations;
    if (!first) throw new Error("no reservation");
    settleReservation(lease, first, { promptTokens: 0, completionTokens: 0, usd: 0 });
    expect(tryReserve(lease, FREE, NOON)).not.toBeNull();
  });

  it("refuses a request whose estimate needs more tokens than the lease has", () => {
    const { lease } = leaseOn(keyRecord({ tpm: 4_000 }));
    const tokens = lease.grant.tokens as number;
    expect(tryReserve(copy(lease), { tokens, usd: 0 }, NOON)).not.toBeNull();
    const before = copy(lease);
    expect(tryReserve(lease, { tokens: tokens + 1, usd: 0 }, NOON)).toBeNull();
    expect(lease).toEqual(before);
  });

  it("refuses a request whose estimate needs more dollars than the lease has", () => {
    const { lease } = leaseOn(keyRecord({ budgetUsd: 1 }));
    const usd = lease.grant.usd as number;
    expect(tryReserve(copy(lease), { tokens: 0, usd }, NOON)).not.toBeNull();
    expect(tryReserve(lease, { tokens: 0, usd: usd * 2 }, NOON)).toBeNull();
  });

  it("refuses even a free request once the lease's dollars are gone", () => {
    const { lease } = leaseOn(keyRecord({ budgetUsd: 1 }));
    const all = lease.grant.usd as number;
    expect(tryReserve(lease, { tokens: 0, usd: all }, NOON)).not.toBeNull();
    expect(tryReserve(lease, FREE, NOON)).toBeNull();
  });

  it("admits nothing for a revoked key, limited or not", () => {
    for (const limits of [LIMITED, {}]) {
      const { lease } = leaseOn(keyRecord(limits, { revokedMs: NOON - 1 }));
      expect(lease.status).toBe("revoked");
      expect(tryReserve(lease, FREE, NOON)).toBeNull();
    }
  });
});

describe("settling a request", () => {
  it("gives back what the answer did not use and records what it did for the next sync", () => {
    const { lease } = leaseOn(keyRecord(LIMITED));
    const before = copy(lease).grant;
    const reservation = tryReserve(lease, SMALL, NOON);
    if (!reservation) throw new Error("not admitted");
    settleReservation(lease, reservation, { promptTokens: 200, completionTokens: 100, usd: 0.004 });
    expect(lease.grant.requests).toBe((before.requests as number) - 1);
    expect(lease.grant.slots).toBe(before.slots);
    expect(lease.grant.tokens).toBe((before.tokens as number) - 300);
    expect(lease.grant.usd).toBeCloseTo((before.usd as number) - 0.004, 12);
    expect(lease.held).toMatchObject({ requests: 0, slots: 0, tokens: 0 });
    expect(lease.held.usd).toBeCloseTo(0, 12);
    expect(lease.used).toMatchObject({ requests: 1, promptTokens: 200, completionTokens: 100 });
    expect(lease.used.usd).toBeCloseTo(0.004, 12);
  });

  it("takes what an answer used beyond its reservation out of the lease", () => {
    const { lease } = leaseOn(keyRecord(LIMITED));
    const before = copy(lease).grant;
    const reservation = tryReserve(lease, SMALL, NOON);
    if (!reservation) throw new Error("not admitted");
    settleReservation(lease, reservation, { promptTokens: 1_000, completionTokens: 1_500, usd: 0.03 });
    expect(lease.grant.tokens).toBe((before.tokens as number) - 2_500);
    expect(lease.grant.usd).toBeCloseTo((before.usd as number) - 0.03, 12);
  });
});

describe("syncing a lease", () => {
  it("sends what was used and held, and starts counting use afresh", () => {
    const { lease } = leaseOn(keyRecord(LIMITED));
    const first = tryReserve(lease, SMALL, NOON);
    const second = tryReserve(lease, SMALL, NOON + 5);
    if (!first || !second) throw new Error("not admitted");
    settleReservation(lease, first, { promptTokens: 10, completionTokens: 20, usd: 0.001 });
    const sync = beginSync(lease, "a", 2, SMALL, true);
    expect(sync.request).toMatchObject({ isolate: "a", seq: 2, need: SMALL });
    expect(sync.request.used).toMatchObject({ requests: 2, promptTokens: 10, completionTokens: 20 });
    expect(sync.request.used.lastUsedMs).toBe(NOON + 5);
    expect(sync.request.held).toMatchObject({ slots: 1, tokens: 1_000 });
    expect(lease.used).toEqual(NOTHING_USED);
    expect(lease.held.slots).toBe(1);
  });

  it("takes off the new grant what requests took from the old one while the sync was on its way", () => {
    const record = keyRecord(LIMITED);
    const { lease, state } = leaseOn(record);
    const sync = beginSync(lease, "a", 2, null, true);
    expect(tryReserve(lease, SMALL, NOON + 100)).not.toBeNull();
    expect(tryReserve(lease, SMALL, NOON + 100)).not.toBeNull();
    const reply = syncLease(record, state, sync.request, NOON + 150);
    applySyncReply(lease, sync, reply, NOON + 200);
    expect(lease.grant.requests).toBe((reply.grant.requests as number) - 2);
    expect(lease.grant.slots).toBe((reply.grant.slots as number) - 2);
    expect(lease.grant.tokens).toBe((reply.grant.tokens as number) - 2_000);
    expect(lease.grant.usd).toBeCloseTo((reply.grant.usd as number) - 0.02, 12);
    expect(lease.expiresMs).toBe(reply.expiresMs);
    expect(lease.syncedMs).toBe(NOON + 200);
    expect(lease.seqApplied).toBe(2);
    expect(beginSync(lease, "a", 3, null, true).request.used.requests).toBe(2);
  });

  it("adds to the new grant what a request gave back while the sync was on its way", () => {
    const record = keyRecord(LIMITED);
    const { lease, state } = leaseOn(record);
    const reservation = tryReserve(lease, SMALL, NOON);
    if (!reservation) throw new Error("not admitted");
    const sync = beginSync(lease, "a", 2, null, true);
    expect(sync.request.held.tokens).toBe(1_000);
    settleReservation(lease, reservation, { promptTokens: 300, completionTokens: 100, usd: 0.004 });
    const reply = syncLease(record, state, sync.request, NOON + 50);
    applySyncReply(lease, sync, reply, NOON + 60);
    expect(lease.grant.slots).toBe((reply.grant.slots as number) + 1);
    expect(lease.grant.tokens).toBe((reply.grant.tokens as number) + 600);
    expect(lease.grant.usd).toBeCloseTo((reply.grant.usd as number) + 0.006, 12);
    expect(beginSync(lease, "a", 3, null, true).request.used).toMatchObject({
      requests: 0,
      promptTokens: 300,
      completionTokens: 100,
    });
  });

  it("does not let another isolate be granted requests this one took while its sync was on its way", () => {
    const RPM = 20;
    const record = keyRecord({ rpm: RPM });
    const { lease, state } = leaseOn(record);
    const other = { seq: 0, unreported: 0, took: 0 };
    const otherAsks = (nowMs: number) => {
      for (let i = 0; i < 50; i++) {
        other.seq++;
        const reply = syncLease(
          record,
          state,
          {
            isolate: "b",
            seq: other.seq,
            used: { ...NOTHING_USED, requests: other.unreported },
            held: NOTHING_HELD,
            unused: UNLIMITED,
            need: FREE,
            renew: true,
          },
          nowMs,
        );
        other.unreported = reply.refusal === null ? (reply.grant.requests as number) : 0;
        other.took += other.unreported;
      }
    };
    otherAsks(NOON + 100);
    const sync = beginSync(lease, "a", 2, null, true);
    let took = 0;
    while (tryReserve(lease, FREE, NOON + 200)) took++;
    expect(took).toBeGreaterThan(0);
    applySyncReply(lease, sync, syncLease(record, state, sync.request, NOON + 210), NOON + 220);
    otherAsks(NOON + 300);
    const stillGranted = Math.max(0, lease.grant.requests as number);
    expect(took + stillGranted + other.took).toBeLessThanOrEqual(RPM);
  });

  it("changes no grant for a reply the ledger found stale", () => {
    const record = keyRecord(LIMITED);
    const { lease, state } = leaseOn(record);
    const older = beginSync(lease, "a", 2, null, true);
    const newer = beginSync(lease, "a", 3, null, true);
    const newerReply = syncLease(record, state, newer.request, NOON + 10);
    const olderReply = syncLease(record, state, older.request, NOON + 20);
    expect(olderReply.stale).toBe(true);
    applySyncReply(lease, newer, newerReply, NOON + 30);
    const applied = copy(lease);
    applySyncReply(lease, older, olderReply, NOON + 40);
    expect(lease.grant).toEqual(applied.grant);
    expect(lease.expiresMs).toBe(applied.expiresMs);
    expect(lease.syncedMs).toBe(NOON + 30);
    expect(lease.seqApplied).toBe(3);
  });

  it("changes no grant for a reply that arrives after a newer one was applied", () => {
    const record = keyRecord(LIMITED);
    const { lease, state } = leaseOn(record);
    const older = beginSync(lease, "a", 2, null, true);
    const olderReply = syncLease(record, state, older.request, NOON + 10);
    const newer = beginSync(lease, "a", 3, null, true);
    const newerReply = syncLease(record, state, newer.request, NOON + 20);
    expect(olderReply.stale).toBe(false);
    applySyncReply(lease, newer, newerReply, NOON + 30);
    const applied = copy(lease);
    applySyncReply(lease, older, olderReply, NOON + 40);
    expect(lease.grant).toEqual(applied.grant);
    expect(lease.expiresMs).toBe(newerReply.expiresMs);
    expect(lease.seqApplied).toBe(3);
  });

  it("learns from a stale reply that the key was revoked", () => {
    const record = keyRecord(LIMITED);
    const { lease, state } = leaseOn(record);
    const older = beginSync(lease, "a", 2, null, true);
    const newer = beginSync(lease, "a", 3, null, true);
    applySyncReply(lease, newer, syncLease(record, state, newer.request, NOON + 10), NOON + 10);
    const revoked = { ...record, revokedMs: NOON + 15 };
    const reply: SyncReply = syncLease(revoked, state, older.request, NOON + 20);
    expect(reply.stale).toBe(true);
    applySyncReply(lease, older, reply, NOON + 20);
    expect(lease.status).toBe("revoked");
    expect(tryReserve(lease, FREE, NOON + 21)).toBeNull();
  });

  it("keeps what a failed sync carried for the next one", () => {
    const { lease } = leaseOn(keyRecord(LIMITED));
    const reservation = tryReserve(lease, SMALL, NOON + 1);
    if (!reservation) throw new Error("not admitted");
    settleReservation(lease, reservation, { promptTokens: 100, completionTokens: 50, usd: 0.002 });
    const grantBefore = copy(lease).grant;
    const failed = beginSync(lease, "a", 2, null, true);
    const later = tryReserve(lease, SMALL, NOON + 9);
    if (!later) throw new Error("not admitted");
    settleReservation(lease, later, { promptTokens: 10, completionTokens: 5, usd: 0.001 });
    abandonSync(lease, failed);
    const next = beginSync(lease, "a", 3, null, true);
    expect(next.request.used).toMatchObject({ requests: 2, promptTokens: 110, completionTokens: 55 });
    expect(next.request.used.usd).toBeCloseTo(0.003, 12);
    expect(next.request.used.lastUsedMs).toBe(NOON + 9);
    expect(lease.grant.requests).toBe((grantBefore.requests as number) - 1);
  });

  it("keeps the last use time a failed sync carried, unless a request came later", () => {
    const quiet = leaseOn(keyRecord(LIMITED)).lease;
    expect(tryReserve(quiet, FREE, NOON + 50)).not.toBeNull();
    const failedQuietly = beginSync(quiet, "a", 2, null, true);
    expect(quiet.used.lastUsedMs).toBeNull();
    abandonSync(quiet, failedQuietly);
    expect(quiet.used.lastUsedMs).toBe(NOON + 50);
    const busy = leaseOn(keyRecord(LIMITED)).lease;
    expect(tryReserve(busy, FREE, NOON + 50)).not.toBeNull();
    const failed = beginSync(busy, "a", 2, null, true);
    expect(tryReserve(busy, FREE, NOON + 80)).not.toBeNull();
    abandonSync(busy, failed);
    expect(busy.used.lastUsedMs).toBe(NOON + 80);
  });
});

describe("going quiet", () => {
  it("a quiet isolate's last report (renew: false) frees its grant for the others", () => {
    const CAP = 4;
    const record = keyRecord({ maxConcurrency: CAP });
    const { lease, state } = leaseOn(record);
    const reservation = tryReserve(lease, FREE, NOON + 10);
    if (!reservation) throw new Error("not admitted");
    settleReservation(lease, reservation, { promptTokens: 0, completionTokens: 0, usd: 0 });
    expect(isBusy(lease, NOON + 1_010, 1_000)).toBe(false);
    const report = beginSync(lease, "a", 2, null, false);
    const reply = syncLease(record, state, report.request, NOON + 1_020);
    expect(reply.grant.slots).toBe(0);
    applySyncReply(lease, report, reply, NOON + 1_030);
    expect(tryReserve(lease, FREE, NOON + 1_040)).toBeNull();
    const other = syncLease(
      record,
      state,
      {
        isolate: "b",
        seq: 1,
        used: { ...NOTHING_USED },
        held: NOTHING_HELD,
        unused: UNLIMITED,
        need: FREE,
        renew: true,
      },
      NOON + 2_000,
    );
    expect(other.refusal).toBeNull();
    expect(other.grant.slots).toBe(CAP / 2);
  });
});

describe("renewing a lease", () => {
  it("asks for renewal half-way through the lease", () => {
    const { lease } = leaseOn(keyRecord(LIMITED));
    expect(wantsRenewal(lease, NOON + LEASE_MS / 2 - 1)).toBe(false);
    expect(wantsRenewal(lease, NOON + LEASE_MS / 2)).toBe(true);
  });

  it("counts half-way from the last applied sync", () => {
    const record = keyRecord({});
    const { lease, state } = leaseOn(record);
    const sync = beginSync(lease, "a", 2, null, true);
    applySyncReply(lease, sync, syncLease(record, state, sync.request, NOON + 3_000), NOON + 3_000);
    expect(wantsRenewal(lease, NOON + 3_000 + LEASE_MS / 2 - 1)).toBe(false);
    expect(wantsRenewal(lease, NOON + 3_000 + LEASE_MS / 2)).toBe(true);
  });

  it("asks for renewal at once when the lease has no request or no slot left", () => {
    const requests = leaseOn(keyRecord({ rpm: 10 })).lease;
    while (tryReserve(requests, FREE, NOON)) {}
    expect(wantsRenewal(requests, NOON)).toBe(true);
    const slots = leaseOn(keyRecord({ maxConcurrency: 4 })).lease;
    while (tryReserve(slots, FREE, NOON)) {}
    expect(wantsRenewal(slots, NOON)).toBe(true);
  });
});
