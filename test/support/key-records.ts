// A managed key's record as the ledger and the isolates see it, for the pure tests of src/core: no limits
// unless `limits` sets some, one current secret, created at the start of November 2026.
import { type KeyLimits, type KeyRecord, NO_LIMITS } from "../../src/core/managed-key.ts";

export function keyRecord(limits: Partial<KeyLimits> = {}, changes: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: "key_0123456789ab",
    name: "team",
    prefix: "sk-ap-abcd",
    limits: { ...NO_LIMITS, ...limits },
    createdMs: Date.parse("2026-11-01T00:00:00Z"),
    revokedMs: null,
    hashes: [{ hash: "a".repeat(64), untilMs: null }],
    ...changes,
  };
}
