// Sticky lookups from an isolate: a small local cache in front of the key's shard object, so a client's repeat
// requests make no Durable Object call. The trade-off accepted: a change another isolate makes to the same key
// is seen here only after LOCAL_TTL_MS; this isolate's own changes are seen at once.
import { type StickyPolicyInput, stickyUpdateAfter } from "../core/sticky-policy.ts";
import { shardIndex } from "../core/sticky-table.ts";
import type { StickyWrite } from "../state/sticky-shard.ts";

export const STICKY_SHARD_COUNT = 64;
const LOCAL_TTL_MS = 5000;
const LOCAL_MAX_ENTRIES = 10_000;
// A client that keeps using its model re-stamps the shard entry at most this often, so the entry's idle
// expiry (STICKY_TTL_SECS) counts from its last use without a shard write per request.
const TOUCH_INTERVAL_MS = 60_000;

const local = new Map<string, { model: string | null; atMs: number; writtenMs: number | null }>();

/** The name of the shard object that holds a key. */
export function stickyShardName(key: string): string {
  return `sticky-${shardIndex(key, STICKY_SHARD_COUNT)}`;
}

/** The key's model: from this isolate's cache when recent, else from its shard (one RPC). */
export async function lookupSticky(env: Env, key: string, nowMs: number): Promise<string | null> {
  const hit = local.get(key);
  if (hit && nowMs >= hit.atMs && nowMs - hit.atMs < LOCAL_TTL_MS) return hit.model;
  const model = await env.STICKY_SHARD.getByName(stickyShardName(key)).lookup(key);
  rememberSticky(key, model, nowMs);
  return model;
}

/**
 * Decides a finished request's sticky write (SPEC §5 via core/sticky-policy.ts), remembers the outcome here at
 * once, and returns the write for the shard: a change, or a periodic touch while the client stays put.
 */
export function settleSticky(
  key: string,
  input: StickyPolicyInput & { committedModel: string | null; nowMs: number },
): StickyWrite | null {
  const update = stickyUpdateAfter(input);
  if (update.kind !== "none") {
    const model = update.kind === "set" ? update.model : null;
    rememberSticky(key, model, input.nowMs, input.nowMs);
    return { key, model, atMs: input.nowMs };
  }
  const entry = local.get(key);
  const stayed = input.committedModel !== null && input.committedModel === input.stickyModel;
  if (!stayed || (entry?.writtenMs != null && input.nowMs - entry.writtenMs < TOUCH_INTERVAL_MS)) return null;
  rememberSticky(key, input.committedModel, entry?.atMs ?? input.nowMs, input.nowMs);
  return { key, model: input.committedModel, atMs: input.nowMs };
}

/** Records a key's model locally (after a lookup, or when this isolate changes it). */
function rememberSticky(
  key: string,
  model: string | null,
  nowMs: number,
  writtenMs: number | null = null,
): void {
  const previous = local.get(key);
  local.delete(key);
  local.set(key, { model, atMs: nowMs, writtenMs: writtenMs ?? previous?.writtenMs ?? null });
  if (local.size > LOCAL_MAX_ENTRIES) {
    const oldest = local.keys().next().value;
    if (oldest !== undefined) local.delete(oldest);
  }
}

/** Forgets the local cache (tests). */
export function clearStickyCache(): void {
  local.clear();
}
