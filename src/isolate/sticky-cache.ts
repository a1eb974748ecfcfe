// This isolate's sticky cache: a small local map in front of the key's shard object, so a client's repeat
// requests make no Durable Object call. The trade-off accepted: a change another isolate makes to the same key
// is seen here only after LOCAL_TTL_MS; this isolate's own changes are seen at once.
import { type StickyPolicyInput, stickyUpdateAfter } from "../core/sticky-policy.ts";
import type { StickyWrite } from "../state/sticky-shard.ts";

const LOCAL_TTL_MS = 5000;
const LOCAL_MAX_ENTRIES = 10_000;
// A client that keeps using its model re-stamps the shard entry at most this often, so the entry's idle
// expiry (STICKY_TTL_SECS) counts from its last use without a shard write per request.
const TOUCH_INTERVAL_MS = 60_000;

export interface StickyCache {
  /** The key's model: from this isolate's cache when recent, else from its shard (one RPC). */
  lookup(key: string, nowMs: number): Promise<string | null>;
  /**
   * Decides a finished request's sticky write (docs/contract.md §5 via core/sticky-policy.ts), remembers it
   * here at once, and returns the write for the shard: a change, or a periodic touch while the client stays.
   */
  settle(
    key: string,
    input: StickyPolicyInput & { committedModel: string | null; nowMs: number },
  ): StickyWrite | null;
  /** Forgets every entry, so the next lookup goes to the shard as another isolate's would (tests). */
  clear(): void;
}

type LocalEntry = { model: string | null; atMs: number; writtenMs: number | null };

export function createStickyCache(lookupShard: (key: string) => Promise<string | null>): StickyCache {
  const local = new Map<string, LocalEntry>();

  const remember = (key: string, model: string | null, nowMs: number, writtenMs: number | null = null) => {
    const previous = local.get(key);
    local.delete(key);
    local.set(key, { model, atMs: nowMs, writtenMs: writtenMs ?? previous?.writtenMs ?? null });
    if (local.size > LOCAL_MAX_ENTRIES) {
      const oldest = local.keys().next().value;
      if (oldest !== undefined) local.delete(oldest);
    }
  };

  return {
    async lookup(key, nowMs) {
      const hit = local.get(key);
      if (hit && nowMs >= hit.atMs && nowMs - hit.atMs < LOCAL_TTL_MS) return hit.model;
      const model = await lookupShard(key);
      remember(key, model, nowMs);
      return model;
    },
    settle(key, input) {
      const update = stickyUpdateAfter(input);
      if (update.kind !== "none") {
        const model = update.kind === "set" ? update.model : null;
        remember(key, model, input.nowMs, input.nowMs);
        return { key, model, atMs: input.nowMs };
      }
      const entry = local.get(key);
      const stayed = input.committedModel !== null && input.committedModel === input.stickyModel;
      if (!stayed || (entry?.writtenMs != null && input.nowMs - entry.writtenMs < TOUCH_INTERVAL_MS))
        return null;
      remember(key, input.committedModel, entry?.atMs ?? input.nowMs, input.nowMs);
      return { key, model: input.committedModel, atMs: input.nowMs };
    },
    clear() {
      local.clear();
    },
  };
}
