// Sticky entries' lifetime rules (docs/contract.md §5), shared by the shard object and tested without it: an entry expires
// after ttlSeconds without a write; a shard keeps at most maxEntries, evicting the least recently written.

export interface StickyLimits {
  ttlSeconds: number;
  maxEntries: number;
}

export function isExpired(updatedMs: number, nowMs: number, ttlSeconds: number): boolean {
  return nowMs - updatedMs >= ttlSeconds * 1000;
}

/** The shard (0..shardCount-1) holding a key: FNV-1a over its UTF-16 code units. */
export function shardIndex(key: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shardCount;
}
