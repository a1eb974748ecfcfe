// The fleet-wide ledger of one managed key (docs/contract.md §15), as plain functions over plain data: the
// key's Durable Object keeps this state and calls `syncLease` for every isolate that checks in.
//
// Limits hold fleet-wide without a Durable Object call per request because each isolate holds a short lease:
// a number of requests, concurrency slots, tokens and dollars it may hand out on its own for LEASE_MS. The
// ledger never grants more than is left once every other isolate's unexpired lease is counted, so requests
// per minute and concurrency cannot overshoot. Tokens and dollars are known only when an answer ends; a
// request reserves its estimate from the lease before it is sent and settles the actual amount after, so a
// budget or token rate is passed only by what answers used beyond their reservation (README, "Managed keys").
//
// An isolate reports, when it syncs: what it used since its last sync (settled requests' actual spend and
// tokens, and how many requests it admitted), what its requests in flight hold (slots, reserved tokens and
// dollars), and what was left of its grant as the sync left (it may still take that while the sync is on its
// way). All of it, and the new grant, stays counted until the isolate's next sync tells what became of it, or
// HOLD_MS passes (an isolate that vanished): an expired lease no longer admits, but what it admitted is only
// known at that next sync. Requests count in the minute they were granted in. A sync that does not renew
// (an isolate's last report once it went quiet) gets no grant, so an idle isolate holds nothing back.
import { type BudgetPeriod, periodEndMs, periodStartMs } from "./budget-period.ts";
import { type KeyLimits, type KeyRecord, type KeyStatus, keyStatus } from "./managed-key.ts";
import {
  type Allowance,
  type Amounts,
  addAmounts,
  addInto,
  limitedAmounts,
  mapQuota,
  NO_AMOUNTS,
  type QuotaField,
  shortfall,
} from "./quota.ts";

/** How long a lease lasts: also the longest a revocation takes to reach a busy isolate. */
export const LEASE_MS = 4_000;
/** How long what an isolate's requests in flight hold stays counted without word from it. */
export const HOLD_MS = 10 * 60_000;
/** Rate limits count per minute, in windows aligned to the UTC minute. */
export const WINDOW_MS = 60_000;

/** What an isolate may hand out; null where the key has no such limit. */
export type LeaseGrant = Allowance;

/**
 * What an isolate's requests in flight hold: their number, slots, reserved tokens and dollars. The ledger
 * counts their requests when they were admitted (in `used`), so it reads only the other three.
 */
export type LeaseHeld = Amounts;

/** What an isolate used since it last synced. */
export interface LeaseUsed {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  usd: number;
  lastUsedMs: number | null;
}

/** What a request waiting on the sync needs; null for a background sync. */
export interface LeaseNeed {
  tokens: number;
  usd: number;
}

export interface SyncRequest {
  isolate: string;
  /**
   * Rises with every sync an isolate sends for the key. Syncs of one isolate may cross on the way, and only
   * the newest may replace its lease: an older one still records its use but grants nothing (`stale`).
   */
  seq: number;
  used: LeaseUsed;
  held: LeaseHeld;
  /** What was left of the isolate's grant when the sync left. */
  unused: LeaseGrant;
  need: LeaseNeed | null;
  /** Whether the isolate wants a new grant (it is busy), or only reports. */
  renew: boolean;
}

/** Why a request cannot be admitted now. */
export type LeaseRefusal = "requests" | "tokens" | "concurrency" | "budget";

/** The limits' state as the `x-ratelimit-*` headers and the 429/402 answers tell it. */
export interface RateState {
  rpm: number | null;
  tpm: number | null;
  requestsRemaining: number | null;
  tokensRemaining: number | null;
  windowEndMs: number;
  budgetUsd: number | null;
  budgetRemainingUsd: number | null;
  periodEndMs: number | null;
}

export interface SyncReply {
  record: KeyRecord;
  status: KeyStatus;
  grant: LeaseGrant;
  expiresMs: number;
  rate: RateState;
  /** Set when `need` was given and cannot be met. */
  refusal: LeaseRefusal | null;
  /** When trying again could succeed (rate limits and concurrency); null for a spent budget. */
  retryAfterMs: number | null;
  /** A newer sync of the same isolate got here first: this one's use was recorded, nothing was granted. */
  stale: boolean;
}

interface IsolateLease {
  seq: number;
  grant: LeaseGrant;
  /** What the isolate may still have taken from its previous grant while this sync was on its way. */
  unused: LeaseGrant;
  held: LeaseHeld;
  /** The rate window the grant was made in: its requests count in that window only. */
  windowStartMs: number;
  expiresMs: number;
  holdUntilMs: number;
}

export interface LedgerState {
  periodStartMs: number;
  periodSpentUsd: number;
  windowStartMs: number;
  windowRequests: number;
  windowTokens: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  spentUsdTotal: number;
  lastUsedMs: number | null;
  leases: Record<string, IsolateLease>;
}

export function newLedger(period: BudgetPeriod, nowMs: number): LedgerState {
  return {
    periodStartMs: periodStartMs(period, nowMs),
    periodSpentUsd: 0,
    windowStartMs: windowStart(nowMs),
    windowRequests: 0,
    windowTokens: 0,
    requests: 0,
    promptTokens: 0,
    completionTokens: 0,
    spentUsdTotal: 0,
    lastUsedMs: null,
    leases: {},
  };
}

/** Moves the budget period and the rate window on to `nowMs`, and forgets leases that no longer count. */
export function rollLedger(record: KeyRecord, state: LedgerState, nowMs: number): void {
  const period = periodStartMs(record.limits.budgetPeriod, nowMs);
  if (period !== state.periodStartMs) {
    state.periodStartMs = period;
    state.periodSpentUsd = 0;
  }
  const window = windowStart(nowMs);
  if (window !== state.windowStartMs) {
    state.windowStartMs = window;
    state.windowRequests = 0;
    state.windowTokens = 0;
  }
  for (const [isolate, lease] of Object.entries(state.leases)) {
    if (lease.holdUntilMs <= nowMs) delete state.leases[isolate];
  }
}

/** One isolate checks in: its use is recorded, its old lease returned and a new one granted. */
export function syncLease(
  record: KeyRecord,
  state: LedgerState,
  request: SyncRequest,
  nowMs: number,
): SyncReply {
  rollLedger(record, state, nowMs);
  const { used } = request;
  state.periodSpentUsd += used.usd;
  state.spentUsdTotal += used.usd;
  state.windowRequests += used.requests;
  state.windowTokens += used.promptTokens + used.completionTokens;
  state.requests += used.requests;
  state.promptTokens += used.promptTokens;
  state.completionTokens += used.completionTokens;
  if (used.lastUsedMs !== null) state.lastUsedMs = Math.max(state.lastUsedMs ?? 0, used.lastUsedMs);
  const status = keyStatus(record, nowMs);
  const previous = state.leases[request.isolate];
  if (previous && request.seq <= previous.seq) {
    const free = freeCapacity(record, state, NO_AMOUNTS, nowMs, request.isolate);
    return {
      record,
      status,
      grant: { ...NO_AMOUNTS },
      expiresMs: nowMs,
      rate: rateState(record, state, free, nowMs),
      refusal: null,
      retryAfterMs: null,
      stale: true,
    };
  }
  delete state.leases[request.isolate];

  const free = freeCapacity(record, state, outstanding(request.unused, request.held), nowMs);
  const { need } = request;
  let refusal: LeaseRefusal | null = null;
  if (status === "active" && need !== null) refusal = refusalFor(free, need);
  const grant: LeaseGrant =
    status !== "active" || refusal !== null || !request.renew
      ? mapQuota(free, (left) => (left === null ? null : 0))
      : {
          requests: share(free.requests, 1, 4, true),
          slots: share(free.slots, 1, 2, true),
          tokens: share(free.tokens, need?.tokens ?? 0, 4, false),
          usd: share(free.usd, need?.usd ?? 0, 4, false),
        };
  const windowEndMs = state.windowStartMs + WINDOW_MS;
  const rateLimited = record.limits.rpm !== null || record.limits.tpm !== null;
  const expiresMs = rateLimited ? Math.min(nowMs + LEASE_MS, windowEndMs) : nowMs + LEASE_MS;
  state.leases[request.isolate] = {
    seq: request.seq,
    grant,
    unused: request.unused,
    held: request.held,
    windowStartMs: state.windowStartMs,
    expiresMs,
    holdUntilMs: nowMs + HOLD_MS,
  };
  return {
    record,
    status,
    grant,
    expiresMs,
    rate: rateState(record, state, free, nowMs),
    refusal,
    retryAfterMs: refusal === null ? null : retryAfterMs(refusal, record, state, nowMs),
    stale: false,
  };
}

/** The ledger's figures for the admin API and the status page. */
export function describeLedger(record: KeyRecord, state: LedgerState, nowMs: number) {
  rollLedger(record, state, nowMs);
  return {
    periodStartMs: state.periodStartMs,
    periodEndMs: periodEndMs(record.limits.budgetPeriod, nowMs),
    periodSpentUsd: state.periodSpentUsd,
    spentUsdTotal: state.spentUsdTotal,
    requests: state.requests,
    promptTokens: state.promptTokens,
    completionTokens: state.completionTokens,
    lastUsedMs: state.lastUsedMs,
  };
}

export type LedgerSummary = ReturnType<typeof describeLedger>;

/** The key's limits as the four quantities a lease grants. */
function limitsOf(limits: KeyLimits): Allowance {
  return { requests: limits.rpm, slots: limits.maxConcurrency, tokens: limits.tpm, usd: limits.budgetUsd };
}

/**
 * What an isolate's lease still counts for until it syncs again: its grant, what it may have taken of its
 * previous grant while the sync was on its way (`unused`), and what its requests in flight hold (their
 * requests were counted when admitted).
 */
function outstanding(unused: Allowance, held: LeaseHeld, grant: Allowance = NO_AMOUNTS): Amounts {
  return addAmounts(addAmounts(limitedAmounts(grant), limitedAmounts(unused)), { ...held, requests: 0 });
}

/**
 * What is left to grant, counting `own` and every other isolate's outstanding lease, and what the rate window
 * and the budget period used. Null where unlimited. Another isolate's requests count only in the window they
 * were granted in.
 */
function freeCapacity(
  record: KeyRecord,
  state: LedgerState,
  own: Amounts,
  nowMs: number,
  except: string | null = null,
): Allowance {
  const taken: Amounts = {
    requests: state.windowRequests,
    slots: 0,
    tokens: state.windowTokens,
    usd: state.periodSpentUsd,
  };
  addInto(taken, own);
  for (const [isolate, lease] of Object.entries(state.leases)) {
    if (isolate === except || lease.holdUntilMs <= nowMs) continue;
    const counted = outstanding(lease.unused, lease.held, lease.grant);
    if (lease.windowStartMs !== state.windowStartMs) counted.requests = 0;
    addInto(taken, counted);
  }
  return mapQuota(limitsOf(record.limits), (limit, field) =>
    limit === null ? null : Math.max(0, limit - taken[field]),
  );
}

/** Each quantity's name as a refusal. */
const REFUSAL: Record<QuotaField, LeaseRefusal> = {
  requests: "requests",
  slots: "concurrency",
  tokens: "tokens",
  usd: "budget",
};

/** All four quantities one request takes: itself, a slot, and its estimated tokens and dollars. */
export function requestNeed(need: LeaseNeed): Amounts {
  return { requests: 1, slots: 1, tokens: need.tokens, usd: need.usd };
}

function refusalFor(free: Allowance, need: LeaseNeed): LeaseRefusal | null {
  const short = shortfall(free, requestNeed(need));
  return short === null ? null : REFUSAL[short];
}

/**
 * A slice of what is free: a `divisor`-th of it, so other isolates find some left, but at least what the
 * waiting request needs; whole numbers for counts.
 */
function share(free: number | null, atLeast: number, divisor: number, whole: boolean): number | null {
  if (free === null) return null;
  const slice = whole ? Math.ceil(free / divisor) : free / divisor;
  return Math.min(free, Math.max(atLeast, slice));
}

function rateState(record: KeyRecord, state: LedgerState, free: Allowance, nowMs: number): RateState {
  const { limits } = record;
  return {
    rpm: limits.rpm,
    tpm: limits.tpm,
    requestsRemaining: free.requests,
    tokensRemaining: free.tokens,
    windowEndMs: state.windowStartMs + WINDOW_MS,
    budgetUsd: limits.budgetUsd,
    budgetRemainingUsd: free.usd,
    periodEndMs: periodEndMs(limits.budgetPeriod, nowMs),
  };
}

function retryAfterMs(
  refusal: LeaseRefusal,
  record: KeyRecord,
  state: LedgerState,
  nowMs: number,
): number | null {
  const untilWindowEnd = state.windowStartMs + WINDOW_MS - nowMs;
  const { rpm, tpm } = record.limits;
  switch (refusal) {
    case "requests":
      // A full window resets at its end; otherwise other isolates' unused grants come back within a lease.
      return rpm !== null && state.windowRequests >= rpm
        ? untilWindowEnd
        : Math.min(untilWindowEnd, LEASE_MS);
    case "tokens":
      return tpm !== null && state.windowTokens >= tpm ? untilWindowEnd : Math.min(untilWindowEnd, LEASE_MS);
    case "concurrency":
      return 1_000;
    case "budget":
      return null;
  }
}

function windowStart(nowMs: number): number {
  return Math.floor(nowMs / WINDOW_MS) * WINDOW_MS;
}
