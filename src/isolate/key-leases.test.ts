// One isolate's managed-key leases against fake services (docs/contract.md §15): an in-memory key directory
// and ledgers that run the real ledger arithmetic (core/key-ledger.ts), a clock the test moves, and a sleep
// that moves it. What is asserted is what a client of a managed key notices: which requests wait on a
// Durable Object call, which are refused and why, and that what answers used reaches the ledger.
import { describe, expect, it } from "vitest";
import { keyRecord } from "../../test/support/key-records.ts";
import {
  describeLedger,
  LEASE_MS,
  type LedgerState,
  newLedger,
  type SyncRequest,
  syncLease,
} from "../core/key-ledger.ts";
import type { KeyLimits, KeyRecord } from "../core/managed-key.ts";
import { UNKNOWN_KEY_MS } from "./key-ids.ts";
import { createKeyLeases, REPORT_DELAY_MS } from "./key-leases.ts";

const NOON = Date.parse("2026-11-25T12:00:00Z");
const HASH = "a".repeat(64);
const NEED = { tokens: 100, usd: 0.001 };
const USED = { promptTokens: 40, completionTokens: 20, usd: 0.0005 };

/** The directory, one key's ledger and the leases of one isolate over them, with the clock at `now`. */
function setup(limits: Partial<KeyLimits> = {}) {
  const clock = { now: NOON };
  let record: KeyRecord = keyRecord(limits);
  const state: LedgerState = newLedger(record.limits.budgetPeriod, NOON);
  const calls = { resolve: 0, sync: 0 };
  const down = { directory: false, ledger: false };
  /** Syncs wait for this while it is set (to make a sync take a while). */
  let gate: Promise<void> | null = null;
  const services = {
    async resolve(hash: string) {
      calls.resolve += 1;
      if (down.directory) throw new Error("directory unreachable");
      return hash === HASH ? record.id : null;
    },
    async sync(_id: string, request: SyncRequest) {
      calls.sync += 1;
      if (gate) await gate;
      if (down.ledger) throw new Error("ledger unreachable");
      return syncLease(record, state, structuredClone(request), clock.now);
    },
  };
  const pending: Promise<unknown>[] = [];
  const waitUntil = (promise: Promise<unknown>) => pending.push(promise);
  const sleep = (ms: number) => {
    clock.now += ms;
    return new Promise<void>((resolve) => setTimeout(resolve, 0));
  };
  const leases = createKeyLeases(services, "isolate-a", () => clock.now, sleep);
  return {
    clock,
    calls,
    down,
    leases,
    waitUntil,
    ledger: () => describeLedger(record, state, clock.now),
    revoke: () => {
      record = { ...record, revokedMs: clock.now };
    },
    hold: () => {
      let open = () => {};
      gate = new Promise((resolve) => {
        open = resolve;
      });
      return () => {
        gate = null;
        open();
      };
    },
    async drain() {
      while (pending.length > 0) await Promise.all(pending.splice(0));
    },
    admit: (hash = HASH) => leases.admit(hash, clock.now, waitUntil),
  };
}

async function admitted(keys: ReturnType<typeof setup>) {
  const admission = await keys.admit();
  if (admission.kind !== "admitted") throw new Error(`not admitted: ${admission.kind}`);
  return admission;
}

describe("admitting a managed key", () => {
  it("waits on the directory and the ledger once, then admits from the lease with no call", async () => {
    const keys = setup({ rpm: 100 });
    expect(await keys.admit()).toMatchObject({ kind: "admitted", cold: true });
    expect(keys.calls).toEqual({ resolve: 1, sync: 1 });
    keys.clock.now += 100;
    expect(await keys.admit()).toMatchObject({ kind: "admitted", cold: false });
    expect(keys.calls).toEqual({ resolve: 1, sync: 1 });
    expect(keys.leases.stats()).toEqual({ "KeyDirectory.resolve": 1, "KeyLedger.sync": 1 });
  });

  it("remembers an unknown secret for a moment, sparing the directory a flood of bad keys", async () => {
    const keys = setup();
    const other = "b".repeat(64);
    expect(await keys.admit(other)).toEqual({ kind: "unknown" });
    expect(await keys.admit(other)).toEqual({ kind: "unknown" });
    expect(keys.calls.resolve).toBe(1);
    keys.clock.now += UNKNOWN_KEY_MS;
    expect(await keys.admit(other)).toEqual({ kind: "unknown" });
    expect(keys.calls.resolve).toBe(2);
  });

  it("answers unavailable, not unknown, when the directory or the ledger cannot be reached", async () => {
    const keys = setup();
    keys.down.directory = true;
    expect(await keys.admit()).toEqual({ kind: "unavailable" });
    keys.down.directory = false;
    keys.down.ledger = true;
    expect(await keys.admit()).toEqual({ kind: "unavailable" });
    keys.down.ledger = false;
    expect(await keys.admit()).toMatchObject({ kind: "admitted" });
  });

  it("lets parallel requests on a cold key share one ledger sync", async () => {
    const keys = setup({ maxConcurrency: 4 });
    const open = keys.hold();
    const both = Promise.all([keys.admit(), keys.admit()]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    open();
    const admissions = await both;
    expect(admissions.map((admission) => admission.kind)).toEqual(["admitted", "admitted"]);
    expect(keys.calls.sync).toBe(1);
  });

  it("renews a busy lease in the background before it runs out", async () => {
    const keys = setup({ rpm: 100 });
    await admitted(keys);
    keys.clock.now += LEASE_MS / 2;
    expect(await keys.admit()).toMatchObject({ kind: "admitted", cold: false });
    await keys.drain();
    expect(keys.calls.sync).toBe(2);
    expect(keys.leases.stats()["KeyLedger.sync"]).toBe(1);
  });

  it("refuses a revoked key once its lease has run out", async () => {
    const keys = setup();
    await admitted(keys);
    keys.revoke();
    keys.clock.now += LEASE_MS;
    expect(await keys.admit()).toEqual({ kind: "unknown" });
  });
});

describe("reserving and settling", () => {
  it("reserves from the lease without a call, and asks the ledger, which refuses, past the key's rpm", async () => {
    const keys = setup({ rpm: 1 });
    const { key } = await admitted(keys);
    const first = await keys.leases.reserve(key, NEED, keys.clock.now, keys.waitUntil);
    expect(first).toMatchObject({ ok: true, cold: false });
    const syncs = keys.calls.sync;
    const second = await keys.leases.reserve(key, NEED, keys.clock.now, keys.waitUntil);
    expect(second).toMatchObject({ ok: false, refusal: "requests" });
    expect(second.ok === false && "retryAfterMs" in second && second.retryAfterMs).toBeGreaterThan(0);
    expect(keys.calls.sync).toBeGreaterThan(syncs);
  });

  it("answers inactive for a key revoked since it was admitted", async () => {
    const keys = setup();
    const { key } = await admitted(keys);
    keys.revoke();
    keys.clock.now += LEASE_MS;
    expect(await keys.leases.reserve(key, NEED, keys.clock.now, keys.waitUntil)).toEqual({
      ok: false,
      refusal: "inactive",
    });
  });

  it("reports what several answers used in one sync, a second after they end", async () => {
    const keys = setup({ budgetUsd: 1 });
    const { key } = await admitted(keys);
    const reservations = [];
    for (let i = 0; i < 3; i++) {
      const reserved = await keys.leases.reserve(key, NEED, keys.clock.now, keys.waitUntil);
      if (!reserved.ok) throw new Error("not reserved");
      reservations.push(reserved.reservation);
    }
    const syncs = keys.calls.sync;
    const endedMs = keys.clock.now;
    for (const reservation of reservations) keys.leases.settle(key, reservation, USED, keys.waitUntil);
    expect(keys.leases.idle()).toBe(false);
    await keys.drain();
    expect(keys.calls.sync).toBe(syncs + 1);
    expect(keys.clock.now - endedMs).toBe(REPORT_DELAY_MS);
    expect(keys.leases.idle()).toBe(true);
    const ledger = keys.ledger();
    expect(ledger).toMatchObject({ requests: 3, promptTokens: 120, completionTokens: 60 });
    expect(ledger.periodSpentUsd).toBeCloseTo(3 * USED.usd, 12);
  });

  it("keeps what a failed report carried and sends it with the next", async () => {
    const keys = setup({ budgetUsd: 1 });
    const { key } = await admitted(keys);
    const reserved = await keys.leases.reserve(key, NEED, keys.clock.now, keys.waitUntil);
    if (!reserved.ok) throw new Error("not reserved");
    keys.down.ledger = true;
    keys.leases.settle(key, reserved.reservation, USED, keys.waitUntil);
    await keys.drain();
    expect(keys.ledger().requests).toBe(0);
    keys.down.ledger = false;
    keys.clock.now += LEASE_MS;
    await admitted(keys);
    expect(keys.ledger()).toMatchObject({ requests: 1, promptTokens: 40, completionTokens: 20 });
  });
});
