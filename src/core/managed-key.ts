// Managed keys (docs/contract.md §15): what a key is allowed and how a presented secret is checked against it.
// A key is stored only as the SHA-256 of its secret (the secrets are 256 random bits, so a plain hash cannot
// be reversed by guessing), with a visible prefix so people can tell keys apart. Rotation adds a new hash and
// gives the old one an end; revocation and expiry end them all.
import type { BudgetPeriod } from "./budget-period.ts";
import type { RecordingLevel } from "./record.ts";

/** Every managed key's secret starts with this, so the router can tell it from a static key at a glance. */
export const MANAGED_KEY_PREFIX = "sk-ap-";
/** How much of the secret is shown in listings: the prefix plus four characters. */
export const VISIBLE_PREFIX_LENGTH = MANAGED_KEY_PREFIX.length + 4;

export interface KeyLimits {
  /** Model names (or `prefix*` patterns) the key may request, aliases included; null allows every model. */
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  maxConcurrency: number | null;
  budgetUsd: number | null;
  budgetPeriod: BudgetPeriod;
  expiresAtMs: number | null;
  /** The key's own recording level (docs/contract.md §17); null or absent: the router's RECORDING. */
  recording?: RecordingLevel | null;
}

export interface KeyHash {
  /** Hex SHA-256 of the secret. */
  hash: string;
  /** When this secret stops working (the old secret of a rotation); null while it is the current one. */
  untilMs: number | null;
}

export interface KeyRecord {
  id: string;
  name: string;
  prefix: string;
  limits: KeyLimits;
  createdMs: number;
  revokedMs: number | null;
  hashes: KeyHash[];
}

export type KeyStatus = "active" | "revoked" | "expired";

export const NO_LIMITS: KeyLimits = {
  models: null,
  rpm: null,
  tpm: null,
  maxConcurrency: null,
  budgetUsd: null,
  budgetPeriod: "total",
  expiresAtMs: null,
  recording: null,
};

export function keyStatus(record: KeyRecord, nowMs: number): KeyStatus {
  if (record.revokedMs !== null) return "revoked";
  if (record.limits.expiresAtMs !== null && nowMs >= record.limits.expiresAtMs) return "expired";
  return "active";
}

/** Whether the secret hashing to `hash` opens this key now: active, and not a rotated-out secret past its grace. */
export function acceptsHash(record: KeyRecord, hash: string, nowMs: number): boolean {
  if (keyStatus(record, nowMs) !== "active") return false;
  return record.hashes.some(
    (entry) => entry.hash === hash && (entry.untilMs === null || nowMs < entry.untilMs),
  );
}

/**
 * Whether the key may request `requested`: the client's `model` as routed (after the Anthropic model map),
 * so a list `a,b` needs every item allowed and the alias needs the alias allowed.
 */
export function allowsModel(limits: KeyLimits, requested: string): boolean {
  if (limits.models === null) return true;
  const patterns = limits.models;
  return requested
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .every((item) =>
      patterns.some((pattern) =>
        pattern.endsWith("*") ? item.startsWith(pattern.slice(0, -1)) : item === pattern,
      ),
    );
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

/** Hex SHA-256 of a secret: the only form a key is stored in (also the sticky key of a client's token). */
export async function hashSecret(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(secret)));
  let hex = "";
  for (const byte of digest) hex += HEX[byte];
  return hex;
}

/** A new secret: the managed prefix and 32 random bytes, base64url. */
export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const base64 = btoa(String.fromCharCode(...bytes));
  return MANAGED_KEY_PREFIX + base64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A new key id: `key_` and 12 random hex digits (ids are not secret). */
export function newKeyId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `key_${[...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}
