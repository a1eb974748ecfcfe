// Sticky lookups from an isolate: a small local cache in front of the key's shard object, so a client's repeat
// requests make no Durable Object call. The trade-off accepted: a change another isolate makes to the same key
// is seen here only after LOCAL_TTL_MS; this isolate's own changes are seen at once.
import { shardIndex } from "../core/sticky-table.ts";

export const STICKY_SHARD_COUNT = 64;
const LOCAL_TTL_MS = 5000;
const LOCAL_MAX_ENTRIES = 10_000;

const local = new Map<string, { model: string | null; atMs: number }>();

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

/** Records a key's model locally (after a lookup, or when this isolate changes it). */
export function rememberSticky(key: string, model: string | null, nowMs: number): void {
  local.delete(key);
  local.set(key, { model, atMs: nowMs });
  if (local.size > LOCAL_MAX_ENTRIES) {
    const oldest = local.keys().next().value;
    if (oldest !== undefined) local.delete(oldest);
  }
}

/** Forgets the local cache (tests). */
export function clearStickyCache(): void {
  local.clear();
}
