import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyRecord } from "../../test/support/key-records.ts";
import { NOTHING_HELD } from "./key-lease.ts";
import {
  describeLedger,
  HOLD_MS,
  LEASE_MS,
  type LeaseGrant,
  type LeaseHeld,
  type LeaseNeed,
  type LeaseUsed,
  type LedgerState,
  newLedger,
  type SyncReply,
  syncLease,
  WINDOW_MS,
} from "./key-ledger.ts";
import type { KeyRecord } from "./managed-key.ts";
import { UNLIMITED } from "./quota.ts";

const at = (iso: string) => Date.parse(iso);
const NOON = at("2026-11-25T12:00:00Z");
const ANY_REQUEST: LeaseNeed = { tokens: 0, usd: 0 };

function used(changes: Partial<LeaseUsed> = {}): LeaseUsed {
  return { requests: 0, promptTokens: 0, completionTokens: 0, usd: 0, lastUsedMs: null, ...changes };
}

interface SyncOptions {
  used?: Partial<LeaseUsed>;
  held?: Partial<LeaseHeld>;
  need?: LeaseNeed | null;
  unused?: Partial<LeaseGrant>;
  renew?: boolean;
}

/** A key's ledger, with each isolate's seq counted up for it. */
function ledgerOf(record: KeyRecord, startMs: number) {
  const state: LedgerState = newLedger(record.limits.budgetPeriod, startMs);
  const seqs = new Map<string, number>();
  return {
    state,
    sync(isolate: string, nowMs: number, options: SyncOptions = {}): SyncReply {
      const seq = (seqs.get(isolate) ?? 0) + 1;
      seqs.set(isolate, seq);
      return syncLease(
        record,
        state,
        {
          isolate,
          seq,
          used: used(options.used),
          held: { ...NOTHING_HELD, ...options.held },
          unused: { ...UNLIMITED, ...options.unused },
          need: options.need ?? null,
          renew: options.renew ?? true,
        },
        nowMs,
      );
    },
    describe: (nowMs: number) => describeLedger(record, state, nowMs),
  };
}

const windowOf = (ms: number) => Math.floor(ms / WINDOW_MS) * WINDOW_MS;

function pick<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index}`);
  return item;
}

describe("requests per minute across isolates", () => {
  const RPM = 10;
  const steps = fc.array(
    fc.record({
      isolate: fc.integer({ min: 0, max: 2 }),
      advanceMs: fc.integer({ min: 0, max: 1_500 }),
      action: fc.constantFrom("take", "ask", "sync", "report"),
      count: fc.integer({ min: 1, max: 4 }),
      renewOnTime: fc.boolean(),
    }),
    { minLength: 1, maxLength: 150 },
  );

  it("never admits more than rpm requests in one minute, whatever order three isolates sync in", () => {
    fc.assert(
      fc.property(steps, fc.integer({ min: 0, max: WINDOW_MS - 1 }), (plan, offsetMs) => {
        const record = keyRecord({ rpm: RPM });
        let now = NOON + offsetMs;
        const ledger = ledgerOf(record, now);
        const isolates = ["a", "b", "c"].map((name) => ({
          name,
          left: 0,
          expiresMs: now,
          syncedMs: now,
          unreported: 0,
        }));
        type Isolate = (typeof isolates)[number];
        const admittedIn = new Map<number, number>();
        const take = (isolate: Isolate, count: number) => {
          const n = now < isolate.expiresMs ? Math.min(count, isolate.left) : 0;
          isolate.left -= n;
          isolate.unreported += n;
          admittedIn.set(windowOf(now), (admittedIn.get(windowOf(now)) ?? 0) + n);
          return n;
        };
        const sync = (isolate: Isolate, need: LeaseNeed | null, renew = true) => {
          const reply = ledger.sync(isolate.name, now, {
            used: { requests: isolate.unreported },
            unused: { requests: Math.max(0, isolate.left) },
            need,
            renew,
          });
          if (!renew) expect(reply.grant.requests).toBe(0);
          isolate.unreported = 0;
          isolate.left = reply.grant.requests as number;
          isolate.expiresMs = reply.expiresMs;
          isolate.syncedMs = now;
          return reply;
        };
        for (const step of plan) {
          now += step.advanceMs;
          // A busy isolate renews half-way through its lease, but not always in time: a lease may run out
          // with requests taken from it still unreported, and they stay counted until its isolate syncs.
          if (step.renewOnTime)
            for (const isolate of isolates)
              if (isolate.unreported > 0 && now - isolate.syncedMs >= LEASE_MS / 2) sync(isolate, null);
          const isolate = pick(isolates, step.isolate);
          if (step.action === "take") take(isolate, step.count);
          else if (step.action === "sync") sync(isolate, null);
          else if (step.action === "report") sync(isolate, null, false);
          else if (take(isolate, 1) === 0) {
            const reply = sync(isolate, ANY_REQUEST);
            if (reply.refusal === null) expect(take(isolate, 1)).toBe(1);
            else {
              expect(reply.refusal).toBe("requests");
              expect(reply.retryAfterMs).toBeGreaterThan(0);
              expect(now + (reply.retryAfterMs as number)).toBeLessThanOrEqual(windowOf(now) + WINDOW_MS);
            }
          }
          const stillGranted = isolates
            .filter((each) => now < each.expiresMs)
            .reduce((sum, each) => sum + each.left, 0);
          expect((admittedIn.get(windowOf(now)) ?? 0) + stillGranted).toBeLessThanOrEqual(RPM);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("lets isolates that keep asking use all of rpm, then refuses until the window ends", () => {
    const record = keyRecord({ rpm: RPM });
    const now = NOON + 30_000;
    const ledger = ledgerOf(record, now);
    const isolates = ["a", "b", "c"].map((name) => ({ name, left: 0, unreported: 0 }));
    let admitted = 0;
    let refusedInARow = 0;
    let last: SyncReply | null = null;
    for (let round = 0; refusedInARow < isolates.length && round < 100; round++) {
      const isolate = pick(isolates, round % isolates.length);
      if (isolate.left < 1) {
        last = ledger.sync(isolate.name, now, { used: { requests: isolate.unreported }, need: ANY_REQUEST });
        isolate.unreported = 0;
        isolate.left = last.grant.requests as number;
        if (last.refusal !== null) {
          refusedInARow++;
          continue;
        }
      }
      refusedInARow = 0;
      isolate.left--;
      isolate.unreported++;
      admitted++;
    }
    expect(admitted).toBe(RPM);
    expect(last?.refusal).toBe("requests");
    expect(last?.rate.requestsRemaining).toBe(0);
    expect(last?.retryAfterMs).toBe(30_000);
    expect(ledger.describe(now).requests).toBe(RPM);
  });
});

describe("rate windows", () => {
  function fillWindow(ledger: ReturnType<typeof ledgerOf>, nowMs: number, rpm: number) {
    ledger.sync("filler", nowMs, { used: { requests: rpm } });
  }

  it("refuses a full window until the next UTC minute, and says when that is", () => {
    const ledger = ledgerOf(keyRecord({ rpm: 10 }), NOON + 30_000);
    fillWindow(ledger, NOON + 30_000, 10);
    const full = ledger.sync("a", NOON + 45_000, { need: ANY_REQUEST });
    expect(full.refusal).toBe("requests");
    expect(full.retryAfterMs).toBe(15_000);
    expect(full.rate.windowEndMs).toBe(NOON + WINDOW_MS);
    expect(full.rate.requestsRemaining).toBe(0);
    expect(full.grant.requests).toBe(0);
    expect(ledger.sync("a", NOON + WINDOW_MS - 1, { need: ANY_REQUEST }).retryAfterMs).toBe(1);
    const next = ledger.sync("a", NOON + WINDOW_MS, { need: ANY_REQUEST });
    expect(next.refusal).toBeNull();
    expect(next.grant.requests).toBeGreaterThanOrEqual(1);
    expect(next.rate.windowEndMs).toBe(NOON + 2 * WINDOW_MS);
  });

  it("counts tokens per minute the same way", () => {
    const ledger = ledgerOf(keyRecord({ tpm: 1_000 }), NOON + 10_000);
    // The filler's last report: it renews nothing, so it holds no tokens back from the others.
    ledger.sync("filler", NOON + 10_000, {
      used: { promptTokens: 700, completionTokens: 200 },
      renew: false,
    });
    const short = ledger.sync("a", NOON + 20_000, { need: { tokens: 200, usd: 0 } });
    expect(short.refusal).toBe("tokens");
    expect(short.rate.tokensRemaining).toBe(100);
    const fits = ledger.sync("a", NOON + 20_000, { need: { tokens: 100, usd: 0 } });
    expect(fits.refusal).toBeNull();
    expect(fits.grant.tokens).toBeGreaterThanOrEqual(100);
    expect(ledger.sync("a", NOON + WINDOW_MS, { need: { tokens: 1_000, usd: 0 } }).refusal).toBeNull();
  });

  it("asks to retry within a lease when the window is not full but other isolates hold the rest", () => {
    const ledger = ledgerOf(keyRecord({ rpm: 10 }), NOON);
    const holders = Array.from({ length: 20 }, (_, i) => `holder-${i}`);
    const holdEverything = (nowMs: number) => {
      for (const holder of holders) ledger.sync(holder, nowMs);
    };
    holdEverything(NOON + 10_000);
    const refused = ledger.sync("a", NOON + 10_000, { need: ANY_REQUEST });
    expect(refused.refusal).toBe("requests");
    expect(refused.rate.requestsRemaining).toBe(0);
    expect(refused.retryAfterMs).toBe(LEASE_MS);
    // The holders' leases ran out, but what they took of them is only known when they sync: still counted.
    expect(ledger.sync("a", NOON + 10_000 + LEASE_MS, { need: ANY_REQUEST }).refusal).toBe("requests");
    for (const holder of holders) ledger.sync(holder, NOON + 10_000 + LEASE_MS, { renew: false });
    expect(ledger.sync("a", NOON + 10_000 + LEASE_MS, { need: ANY_REQUEST }).refusal).toBeNull();
    ledger.sync("a", NOON + 56_000, { used: { requests: 1 }, unused: { requests: 0 }, renew: false });
    holdEverything(NOON + 57_000);
    const nearTheEnd = ledger.sync("a", NOON + 57_500, { need: ANY_REQUEST });
    expect(nearTheEnd.refusal).toBe("requests");
    expect(nearTheEnd.retryAfterMs).toBe(2_500);
  });

  it("ends a rate-limited key's lease with its window, and any other lease after LEASE_MS", () => {
    const limited = ledgerOf(keyRecord({ rpm: 10 }), NOON);
    expect(limited.sync("a", NOON + 58_000).expiresMs).toBe(NOON + WINDOW_MS);
    expect(limited.sync("a", NOON + 10_000 + WINDOW_MS).expiresMs).toBe(NOON + 10_000 + WINDOW_MS + LEASE_MS);
    const unlimited = ledgerOf(keyRecord({ maxConcurrency: 4 }), NOON);
    expect(unlimited.sync("a", NOON + 58_000).expiresMs).toBe(NOON + 58_000 + LEASE_MS);
  });
});

describe("concurrency across isolates", () => {
  const CAP = 3;
  const steps = fc.array(
    fc.record({
      isolate: fc.integer({ min: 0, max: 2 }),
      advanceMs: fc.integer({ min: 0, max: 1_500 }),
      action: fc.constantFrom("start", "ask", "finish", "sync", "report"),
      renewOnTime: fc.boolean(),
    }),
    { minLength: 1, maxLength: 150 },
  );

  it("never has more requests in flight than max_concurrency, whatever order three isolates sync in", () => {
    fc.assert(
      fc.property(steps, (plan) => {
        let now = NOON;
        const ledger = ledgerOf(keyRecord({ maxConcurrency: CAP }), now);
        const isolates = ["a", "b", "c"].map((name) => ({
          name,
          left: 0,
          inFlight: 0,
          expiresMs: now,
          syncedMs: now,
        }));
        type Isolate = (typeof isolates)[number];
        const start = (isolate: Isolate) => {
          if (now >= isolate.expiresMs || isolate.left < 1) return false;
          isolate.left--;
          isolate.inFlight++;
          return true;
        };
        const sync = (isolate: Isolate, need: LeaseNeed | null, renew = true) => {
          const reply = ledger.sync(isolate.name, now, {
            held: { slots: isolate.inFlight },
            unused: { slots: Math.max(0, isolate.left) },
            need,
            renew,
          });
          if (!renew) expect(reply.grant.slots).toBe(0);
          isolate.left = reply.grant.slots as number;
          isolate.expiresMs = reply.expiresMs;
          isolate.syncedMs = now;
          return reply;
        };
        for (const step of plan) {
          now += step.advanceMs;
          if (step.renewOnTime)
            for (const isolate of isolates)
              if (isolate.inFlight > 0 && now - isolate.syncedMs >= LEASE_MS / 2) sync(isolate, null);
          const isolate = pick(isolates, step.isolate);
          if (step.action === "start") start(isolate);
          else if (step.action === "sync") sync(isolate, null);
          else if (step.action === "report") sync(isolate, null, false);
          else if (step.action === "finish") {
            if (isolate.inFlight > 0) {
              isolate.inFlight--;
              isolate.left++;
            }
          } else if (!start(isolate)) {
            const reply = sync(isolate, ANY_REQUEST);
            if (reply.refusal === null) expect(start(isolate)).toBe(true);
            else {
              expect(reply.refusal).toBe("concurrency");
              expect(reply.retryAfterMs).toBe(1_000);
            }
          }
          const inFlight = isolates.reduce((sum, each) => sum + each.inFlight, 0);
          const stillGranted = isolates
            .filter((each) => now < each.expiresMs)
            .reduce((sum, each) => sum + each.left, 0);
          expect(inFlight).toBeLessThanOrEqual(CAP);
          expect(inFlight + stillGranted).toBeLessThanOrEqual(CAP);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("keeps the slots an isolate reports in flight, and gives them out again once it reports them free", () => {
    const ledger = ledgerOf(keyRecord({ maxConcurrency: CAP }), NOON);
    let inFlight = 0;
    for (let i = 0; i < 10 && inFlight < CAP; i++) {
      const reply = ledger.sync("a", NOON, { held: { slots: inFlight }, need: ANY_REQUEST });
      inFlight += reply.grant.slots as number;
    }
    expect(inFlight).toBe(CAP);
    expect(ledger.sync("a", NOON + 1_000, { held: { slots: CAP } }).grant.slots).toBe(0);
    const refused = ledger.sync("b", NOON + 2_000, { need: ANY_REQUEST });
    expect(refused.refusal).toBe("concurrency");
    expect(refused.retryAfterMs).toBe(1_000);
    ledger.sync("a", NOON + 2_000 + LEASE_MS, { held: { slots: CAP } });
    expect(ledger.sync("b", NOON + 3_000 + LEASE_MS, { need: ANY_REQUEST }).refusal).toBe("concurrency");
    ledger.sync("a", NOON + 4_000 + LEASE_MS, { held: { slots: 1 } });
    const freed = ledger.sync("b", NOON + 4_000 + LEASE_MS, { need: ANY_REQUEST });
    expect(freed.refusal).toBeNull();
    expect(freed.grant.slots).toBeGreaterThanOrEqual(1);
    expect(freed.grant.slots).toBeLessThanOrEqual(CAP - 1);
  });
});

describe("budgets across isolates", () => {
  const BUDGET = 2;
  const steps = fc.array(
    fc.record({
      isolate: fc.integer({ min: 0, max: 2 }),
      advanceMs: fc.integer({ min: 0, max: 1_500 }),
      action: fc.constantFrom("ask", "ask", "settle", "sync", "report"),
      renewOnTime: fc.boolean(),
      needSixtyFourths: fc.integer({ min: 1, max: 40 }),
      usedShare: fc.constantFrom(0, 0.25, 0.5, 1),
    }),
    { minLength: 1, maxLength: 150 },
  );

  it("never lets spend, reservations and grants together pass the budget while answers cost no more than reserved", () => {
    fc.assert(
      fc.property(steps, (plan) => {
        let now = NOON;
        const ledger = ledgerOf(keyRecord({ budgetUsd: BUDGET }), now);
        let spent = 0;
        const isolates = ["a", "b", "c"].map((name) => ({
          name,
          left: 0,
          reserved: [] as number[],
          unreportedUsd: 0,
          expiresMs: now,
          syncedMs: now,
        }));
        type Isolate = (typeof isolates)[number];
        const reserve = (isolate: Isolate, need: number) => {
          if (now >= isolate.expiresMs || isolate.left <= 0 || isolate.left < need) return false;
          isolate.left -= need;
          isolate.reserved.push(need);
          return true;
        };
        const sync = (isolate: Isolate, need: LeaseNeed | null, renew = true) => {
          const held = isolate.reserved.reduce((sum, each) => sum + each, 0);
          const reply = ledger.sync(isolate.name, now, {
            used: { usd: isolate.unreportedUsd },
            held: { usd: held },
            unused: { usd: Math.max(0, isolate.left) },
            need,
            renew,
          });
          if (!renew) expect(reply.grant.usd).toBe(0);
          isolate.unreportedUsd = 0;
          isolate.left = reply.grant.usd as number;
          isolate.expiresMs = reply.expiresMs;
          isolate.syncedMs = now;
          return reply;
        };
        for (const step of plan) {
          now += step.advanceMs;
          if (step.renewOnTime)
            for (const isolate of isolates)
              if (
                (isolate.reserved.length > 0 || isolate.unreportedUsd > 0) &&
                now - isolate.syncedMs >= LEASE_MS / 2
              )
                sync(isolate, null);
          const isolate = pick(isolates, step.isolate);
          const need = step.needSixtyFourths / 64;
          if (step.action === "sync") sync(isolate, null);
          else if (step.action === "report") sync(isolate, null, false);
          else if (step.action === "settle") {
            const reservation = isolate.reserved.shift();
            if (reservation !== undefined) {
              const cost = reservation * step.usedShare;
              isolate.left += reservation - cost;
              isolate.unreportedUsd += cost;
              spent += cost;
            }
          } else if (!reserve(isolate, need)) {
            const reply = sync(isolate, { tokens: 0, usd: need });
            if (reply.refusal === null) expect(reserve(isolate, need)).toBe(true);
            else {
              expect(reply.refusal).toBe("budget");
              expect(reply.retryAfterMs).toBeNull();
              expect(reply.rate.budgetRemainingUsd).toBeLessThan(need);
            }
          }
          const reservedNow = isolates.reduce(
            (sum, each) => sum + each.reserved.reduce((total, r) => total + r, 0),
            0,
          );
          const stillGranted = isolates
            .filter((each) => now < each.expiresMs)
            .reduce((sum, each) => sum + each.left, 0);
          expect(spent + reservedNow + stillGranted).toBeLessThanOrEqual(BUDGET + 1e-9);
        }
        expect(spent).toBeLessThanOrEqual(BUDGET + 1e-9);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a request whose estimate is more than the budget has left, with no time to retry", () => {
    const ledger = ledgerOf(keyRecord({ budgetUsd: 1 }), NOON);
    ledger.sync("a", NOON, { used: { usd: 0.75 }, renew: false });
    const afterLease = NOON + LEASE_MS + 1_000;
    const refused = ledger.sync("b", afterLease, { need: { tokens: 0, usd: 0.5 } });
    expect(refused.refusal).toBe("budget");
    expect(refused.retryAfterMs).toBeNull();
    expect(refused.grant.usd).toBe(0);
    expect(refused.rate.budgetUsd).toBe(1);
    expect(refused.rate.budgetRemainingUsd).toBeCloseTo(0.25, 12);
    const fits = ledger.sync("b", afterLease, { need: { tokens: 0, usd: 0.25 } });
    expect(fits.refusal).toBeNull();
    expect(fits.grant.usd).toBeCloseTo(0.25, 12);
  });

  it("refuses even a request estimated at nothing once the budget is spent", () => {
    const ledger = ledgerOf(keyRecord({ budgetUsd: 1 }), NOON);
    ledger.sync("a", NOON, { used: { usd: 1 } });
    const refused = ledger.sync("b", NOON, { need: ANY_REQUEST });
    expect(refused.refusal).toBe("budget");
    expect(refused.retryAfterMs).toBeNull();
  });

  it("counts dollars other isolates were granted or hold as not left", () => {
    const ledger = ledgerOf(keyRecord({ budgetUsd: 1 }), NOON);
    const a = ledger.sync("a", NOON, { need: { tokens: 0, usd: 0.5 } });
    expect(a.grant.usd).toBeGreaterThanOrEqual(0.5);
    const b = ledger.sync("b", NOON, { held: { usd: 0.25 } });
    const c = ledger.sync("c", NOON + 1_000, { need: { tokens: 0, usd: 0.01 } });
    expect(c.rate.budgetRemainingUsd).toBeCloseTo(
      1 - (a.grant.usd as number) - (b.grant.usd as number) - 0.25,
      12,
    );
  });
});

describe("budget periods", () => {
  it("forgets a day's spend at UTC midnight but keeps the total", () => {
    const ledger = ledgerOf(keyRecord({ budgetUsd: 1, budgetPeriod: "day" }), at("2026-11-25T08:00:00Z"));
    ledger.sync("a", at("2026-11-25T23:59:00Z"), { used: { usd: 0.75, requests: 3 } });
    expect(ledger.sync("b", at("2026-11-25T23:59:30Z"), { need: { tokens: 0, usd: 0.5 } }).refusal).toBe(
      "budget",
    );
    const before = ledger.describe(at("2026-11-25T23:59:59.999Z"));
    expect(before.periodSpentUsd).toBe(0.75);
    expect(before.periodEndMs).toBe(at("2026-11-26T00:00:00Z"));
    const after = ledger.describe(at("2026-11-26T00:00:00Z"));
    expect(after.periodSpentUsd).toBe(0);
    expect(after.spentUsdTotal).toBe(0.75);
    expect(after.requests).toBe(3);
    expect(after.periodStartMs).toBe(at("2026-11-26T00:00:00Z"));
    const next = ledger.sync("b", at("2026-11-26T00:00:00Z"), { need: { tokens: 0, usd: 0.5 } });
    expect(next.refusal).toBeNull();
    expect(next.rate.periodEndMs).toBe(at("2026-11-27T00:00:00Z"));
  });

  it("keeps a week's spend through Sunday and forgets it on Monday", () => {
    const ledger = ledgerOf(keyRecord({ budgetUsd: 1, budgetPeriod: "week" }), at("2026-11-23T00:00:00Z"));
    ledger.sync("a", at("2026-11-23T00:00:00Z"), { used: { usd: 0.5 } });
    ledger.sync("a", at("2026-11-26T12:00:00Z"), { used: { usd: 0.25 } });
    expect(ledger.describe(at("2026-11-29T23:59:59.999Z")).periodSpentUsd).toBe(0.75);
    const monday = ledger.describe(at("2026-11-30T00:00:00Z"));
    expect(monday.periodSpentUsd).toBe(0);
    expect(monday.spentUsdTotal).toBe(0.75);
    expect(monday.periodEndMs).toBe(at("2026-12-07T00:00:00Z"));
  });

  it("forgets a month's spend on the first of the next month", () => {
    const ledger = ledgerOf(keyRecord({ budgetUsd: 1, budgetPeriod: "month" }), at("2026-11-01T00:00:00Z"));
    ledger.sync("a", at("2026-11-02T00:00:00Z"), { used: { usd: 0.5 } });
    expect(ledger.describe(at("2026-11-30T23:59:59Z")).periodSpentUsd).toBe(0.5);
    expect(ledger.describe(at("2026-12-01T00:00:00Z")).periodSpentUsd).toBe(0);
  });

  it("never forgets a total budget's spend", () => {
    const ledger = ledgerOf(keyRecord({ budgetUsd: 1, budgetPeriod: "total" }), at("2026-11-25T12:00:00Z"));
    ledger.sync("a", at("2026-11-25T23:59:00Z"), { used: { usd: 1 } });
    const later = ledger.describe(at("2028-03-01T00:00:00Z"));
    expect(later.periodSpentUsd).toBe(1);
    expect(later.periodEndMs).toBeNull();
    const refused = ledger.sync("b", at("2028-03-01T00:00:00Z"), { need: ANY_REQUEST });
    expect(refused.refusal).toBe("budget");
    expect(refused.rate.periodEndMs).toBeNull();
  });
});

describe("revoked and expired keys", () => {
  const limits = { rpm: 10, tpm: 10_000, maxConcurrency: 2, budgetUsd: 1 };
  const NOTHING_GRANTED = { requests: 0, slots: 0, tokens: 0, usd: 0 };

  it("grants nothing to a revoked key and says it is revoked", () => {
    const ledger = ledgerOf(keyRecord(limits, { revokedMs: NOON - 1 }), NOON);
    const reply = ledger.sync("a", NOON, { need: ANY_REQUEST });
    expect(reply.status).toBe("revoked");
    expect(reply.grant).toEqual(NOTHING_GRANTED);
  });

  it("grants nothing to an expired key from its expiry on", () => {
    const ledger = ledgerOf(keyRecord({ ...limits, expiresAtMs: NOON }), NOON - 10_000);
    const before = ledger.sync("a", NOON - 1, { need: ANY_REQUEST });
    expect(before.status).toBe("active");
    expect(before.grant.requests).toBeGreaterThan(0);
    const reply = ledger.sync("a", NOON, { need: ANY_REQUEST });
    expect(reply.status).toBe("expired");
    expect(reply.grant).toEqual(NOTHING_GRANTED);
  });

  it("still records what a revoked key's last requests used", () => {
    const ledger = ledgerOf(keyRecord(limits, { revokedMs: NOON - 1 }), NOON);
    ledger.sync("a", NOON, { used: { requests: 2, usd: 0.1, promptTokens: 30, lastUsedMs: NOON - 5 } });
    const summary = ledger.describe(NOON);
    expect(summary.requests).toBe(2);
    expect(summary.promptTokens).toBe(30);
    expect(summary.spentUsdTotal).toBeCloseTo(0.1, 12);
    expect(summary.lastUsedMs).toBe(NOON - 5);
  });
});

describe("syncs that cross on the way", () => {
  const request = (seq: number, requests = 0) => ({
    isolate: "a",
    seq,
    used: used({ requests }),
    held: NOTHING_HELD,
    unused: UNLIMITED,
    need: ANY_REQUEST,
    renew: true,
  });

  it("records an older sync's use but grants it nothing and keeps the newer lease", () => {
    const record = keyRecord({ rpm: 10 });
    const state = newLedger("total", NOON);
    const newer = syncLease(record, state, request(2), NOON);
    const newerGrant = newer.grant.requests as number;
    expect(newerGrant).toBeGreaterThan(0);
    const older = syncLease(record, state, request(1, 2), NOON + 10);
    expect(older.stale).toBe(true);
    expect(older.grant).toEqual({ requests: 0, slots: 0, tokens: 0, usd: 0 });
    expect(older.refusal).toBeNull();
    expect(describeLedger(record, state, NOON + 10).requests).toBe(2);
    const other = syncLease(record, state, { ...request(1), isolate: "b" }, NOON + 20);
    expect(other.rate.requestsRemaining).toBe(10 - 2 - newerGrant);
  });

  it("treats a repeated seq as stale", () => {
    const record = keyRecord({ maxConcurrency: 2 });
    const state = newLedger("total", NOON);
    syncLease(record, state, request(5), NOON);
    const again = syncLease(record, state, request(5), NOON + 1);
    expect(again.stale).toBe(true);
    expect(again.grant.slots).toBe(0);
    expect(syncLease(record, state, request(6), NOON + 2).stale).toBe(false);
  });
});

describe("leases that run out", () => {
  it("an isolate's grant comes back to the others when it syncs (renew false) and not before", () => {
    const ledger = ledgerOf(keyRecord({ rpm: 10 }), NOON);
    const granted = ledger.sync("a", NOON).grant.requests as number;
    expect(granted).toBeGreaterThan(0);
    for (const nowMs of [NOON + LEASE_MS - 1, NOON + LEASE_MS, NOON + 30_000])
      expect(ledger.sync("b", nowMs).rate.requestsRemaining).toBe(10 - granted);
    const report = ledger.sync("a", NOON + 30_000, {
      used: { requests: 1 },
      unused: { requests: 0 },
      renew: false,
    });
    expect(report.grant.requests).toBe(0);
    expect(ledger.sync("b", NOON + 30_000).rate.requestsRemaining).toBe(10 - 1);
  });

  it("a quiet isolate's last report (renew: false) frees its grant", () => {
    const ledger = ledgerOf(keyRecord({ rpm: 10, tpm: 1_000, maxConcurrency: 4, budgetUsd: 1 }), NOON);
    const granted = ledger.sync("a", NOON, { need: ANY_REQUEST }).grant;
    expect(granted.slots).toBeGreaterThan(0);
    const report = ledger.sync("a", NOON + 1_000, {
      unused: { requests: 0, slots: 0, tokens: 0, usd: 0 },
      renew: false,
    });
    expect(report.grant).toEqual({ requests: 0, slots: 0, tokens: 0, usd: 0 });
    expect(report.refusal).toBeNull();
    const other = ledger.sync("b", NOON + 1_000, { need: ANY_REQUEST });
    expect(other.rate).toMatchObject({
      requestsRemaining: 10,
      tokensRemaining: 1_000,
      budgetRemainingUsd: 1,
    });
    expect(other.grant.slots).toBe(2);
  });

  it("a report without renewal for a key without limits grants as before (null stays null)", () => {
    const ledger = ledgerOf(keyRecord({}), NOON);
    const report = ledger.sync("a", NOON, { renew: false });
    expect(report.grant).toEqual({ requests: null, slots: null, tokens: null, usd: null });
  });

  it("what an isolate took from its old grant while a sync was on its way stays counted (the rpm is never passed)", () => {
    const RPM = 10;
    const ledger = ledgerOf(keyRecord({ rpm: RPM }), NOON);
    const old = ledger.sync("a", NOON, { need: ANY_REQUEST }).grant.requests as number;
    expect(old).toBeGreaterThan(0);
    // a's sync leaves with its whole grant unused; it takes all of it while the sync is on its way.
    const renewed = ledger.sync("a", NOON + 100, { unused: { requests: old } });
    expect(renewed.rate.requestsRemaining).toBe(RPM - old);
    const fresh = renewed.grant.requests as number;
    let othersTook = 0;
    let unreported = 0;
    for (let i = 0; i < 50; i++) {
      const reply = ledger.sync("b", NOON + 200, {
        used: { requests: unreported },
        unused: { requests: 0 },
        need: ANY_REQUEST,
      });
      unreported = reply.refusal === null ? (reply.grant.requests as number) : 0;
      othersTook += unreported;
    }
    expect(old + fresh + othersTook).toBeLessThanOrEqual(RPM);
    ledger.sync("a", NOON + 300, { used: { requests: old + fresh }, unused: { requests: 0 }, renew: false });
    expect(ledger.describe(NOON + 300).requests).toBeLessThanOrEqual(RPM);
  });

  it("keeps counting what an isolate reported held until HOLD_MS, long after its lease ran out", () => {
    const ledger = ledgerOf(keyRecord({ maxConcurrency: 2, budgetUsd: 1 }), NOON);
    ledger.sync("a", NOON, { held: { slots: 2, usd: 1 } });
    for (const nowMs of [NOON + LEASE_MS, NOON + 60_000, NOON + HOLD_MS - 1]) {
      const reply = ledger.sync("b", nowMs, { need: ANY_REQUEST });
      expect(reply.refusal).toBe("concurrency");
      expect(reply.grant.slots).toBe(0);
    }
    const afterHold = ledger.sync("b", NOON + HOLD_MS, { need: { tokens: 0, usd: 0.5 } });
    expect(afterHold.refusal).toBeNull();
    expect(afterHold.grant.slots).toBeGreaterThanOrEqual(1);
    expect(afterHold.rate.budgetRemainingUsd).toBe(1);
  });

  it("stops counting an isolate's held amounts as soon as it reports them released", () => {
    const ledger = ledgerOf(keyRecord({ maxConcurrency: 2 }), NOON);
    ledger.sync("a", NOON, { held: { slots: 2 } });
    expect(ledger.sync("b", NOON + 1_000, { need: ANY_REQUEST }).refusal).toBe("concurrency");
    ledger.sync("a", NOON + 2_000 + LEASE_MS, { held: { slots: 0 } });
    expect(ledger.sync("b", NOON + 3_000 + LEASE_MS, { need: ANY_REQUEST }).refusal).toBeNull();
  });
});

// An isolate syncs when a request cannot be admitted from its lease and when an answer ends; a request that
// runs longer than LEASE_MS on an isolate that gets no other traffic meanwhile is not reported until it ends.
describe("requests that outlive the lease they were admitted from", () => {
  it("keeps counting a slot taken from a lease after the lease runs out, until its isolate reports", () => {
    const CAP = 2;
    const ledger = ledgerOf(keyRecord({ maxConcurrency: CAP }), NOON);
    const aInFlight = ledger.sync("a", NOON, { need: ANY_REQUEST }).grant.slots as number;
    expect(aInFlight).toBeGreaterThanOrEqual(1);
    const later = NOON + LEASE_MS + 1_000;
    const inFlight = new Map([
      ["b", 0],
      ["c", 0],
    ]);
    for (let round = 0; round < 10; round++)
      for (const [isolate, slots] of inFlight) {
        const reply = ledger.sync(isolate, later, { held: { slots }, need: ANY_REQUEST });
        if (reply.refusal === null) inFlight.set(isolate, slots + (reply.grant.slots as number));
      }
    const others = [...inFlight.values()].reduce((sum, slots) => sum + slots, 0);
    expect(aInFlight + others).toBeLessThanOrEqual(CAP);
  });

  it("keeps counting requests taken from a lease after the lease runs out, within the minute", () => {
    const RPM = 10;
    const ledger = ledgerOf(keyRecord({ rpm: RPM }), NOON);
    const aTook = ledger.sync("a", NOON, { need: ANY_REQUEST }).grant.requests as number;
    expect(aTook).toBeGreaterThanOrEqual(1);
    const later = NOON + LEASE_MS + 1_000;
    let othersTook = 0;
    let unreported = 0;
    for (let i = 0; i < 50; i++) {
      const reply = ledger.sync("b", later, { used: { requests: unreported }, need: ANY_REQUEST });
      unreported = reply.refusal === null ? (reply.grant.requests as number) : 0;
      othersTook += unreported;
    }
    ledger.sync("a", later + 10_000, { used: { requests: aTook } });
    expect(aTook + othersTook).toBeLessThanOrEqual(RPM);
    expect(ledger.describe(later + 10_000).requests).toBeLessThanOrEqual(RPM);
  });

  it("keeps a budget from being passed by answers that cost no more than they reserved", () => {
    const ledger = ledgerOf(keyRecord({ budgetUsd: 1 }), NOON);
    const aReserved = ledger.sync("a", NOON, { need: { tokens: 0, usd: 0.25 } }).grant.usd as number;
    expect(aReserved).toBeGreaterThanOrEqual(0.25);
    const later = NOON + LEASE_MS + 1_000;
    let unreportedUsd = 0;
    for (let i = 0; i < 50; i++) {
      const reply = ledger.sync("b", later, { used: { usd: unreportedUsd }, need: { tokens: 0, usd: 0.25 } });
      unreportedUsd = reply.refusal === null ? (reply.grant.usd as number) : 0;
    }
    ledger.sync("a", NOON + 60_000, { used: { usd: aReserved } });
    expect(ledger.describe(NOON + 60_000).spentUsdTotal).toBeLessThanOrEqual(1 + 1e-9);
  });
});
