// The four quantities a managed key's limits are kept in (docs/contract.md §15): requests (per minute), slots
// (requests in flight at once), tokens (per minute) and dollars (per budget period). A lease's grant, what an
// isolate holds, a request's reservation and what the ledger has free are all one record of the four, and
// these helpers are the only place it is taken apart field by field.

export interface Quota<T> {
  requests: T;
  slots: T;
  tokens: T;
  usd: T;
}

/** Amounts of each quantity. */
export type Amounts = Quota<number>;
/** What may still be taken of each quantity; null where the key has no such limit. */
export type Allowance = Quota<number | null>;

export type QuotaField = keyof Quota<unknown>;
const FIELDS: readonly QuotaField[] = ["requests", "slots", "tokens", "usd"];

export const NO_AMOUNTS: Amounts = Object.freeze({ requests: 0, slots: 0, tokens: 0, usd: 0 });
export const UNLIMITED: Allowance = Object.freeze({ requests: null, slots: null, tokens: null, usd: null });

/** Each field through `fn`. */
export function mapQuota<A, B>(quota: Quota<A>, fn: (value: A, field: QuotaField) => B): Quota<B> {
  return {
    requests: fn(quota.requests, "requests"),
    slots: fn(quota.slots, "slots"),
    tokens: fn(quota.tokens, "tokens"),
    usd: fn(quota.usd, "usd"),
  };
}

/** `a + b`, field by field. */
export function addAmounts(a: Amounts, b: Amounts): Amounts {
  return mapQuota(a, (value, field) => value + b[field]);
}

/** Adds `amounts` (times `sign`) into `into`, in place. */
export function addInto(into: Amounts, amounts: Amounts, sign: 1 | -1 = 1): void {
  for (const field of FIELDS) into[field] += sign * amounts[field];
}

/** `allowance` changed by `amounts` (times `sign`) where it is limited; unlimited fields stay null. */
export function shiftAllowance(allowance: Allowance, amounts: Amounts, sign: 1 | -1): Allowance {
  return mapQuota(allowance, (value, field) => (value === null ? null : value + sign * amounts[field]));
}

/** Unlimited fields as 0. */
export function limitedAmounts(allowance: Allowance): Amounts {
  return mapQuota(allowance, (value) => value ?? 0);
}

/**
 * The first quantity `allowance` cannot give `need` of, or null when it covers all four. Dollars must also
 * be left at all: a spent budget refuses even a request estimated at nothing.
 */
export function shortfall(allowance: Allowance, need: Amounts): QuotaField | null {
  for (const field of FIELDS) {
    const left = allowance[field];
    if (left === null) continue;
    if (left < need[field] || (field === "usd" && left <= 0)) return field;
  }
  return null;
}
