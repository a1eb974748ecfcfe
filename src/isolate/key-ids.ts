// Which managed key a presented secret's hash belongs to, as this isolate has learned it from the key
// directory (docs/contract.md §15): a hash seen before costs nothing, an unknown one is remembered as unknown
// for a moment so a flood of bad keys does not reach the directory, and a directory that cannot be reached
// makes the key unavailable rather than unknown.

/** How long an unknown key's hash is remembered as unknown. */
export const UNKNOWN_KEY_MS = 2_000;

export type KeyLookup =
  | { kind: "known"; id: string; cold: boolean }
  | { kind: "unknown" }
  | { kind: "unavailable" };

export interface KeyIds {
  lookup(hash: string, nowMs: number): Promise<KeyLookup>;
  /** Directory calls requests waited for. */
  resolves(): number;
}

export function createKeyIds(resolve: (hash: string) => Promise<string | null>, maxKeys: number): KeyIds {
  const ids = new Map<string, string>();
  const unknownUntil = new Map<string, number>();
  let resolves = 0;
  return {
    async lookup(hash, nowMs) {
      if ((unknownUntil.get(hash) ?? 0) > nowMs) return { kind: "unknown" };
      const known = ids.get(hash);
      if (known !== undefined) return { kind: "known", id: known, cold: false };
      let id: string | null;
      try {
        resolves += 1;
        id = await resolve(hash);
      } catch (error) {
        console.error(JSON.stringify({ event: "key_resolve_failed", error: String(error) }));
        return { kind: "unavailable" };
      }
      if (id === null) {
        if (unknownUntil.size >= maxKeys) unknownUntil.clear();
        unknownUntil.set(hash, nowMs + UNKNOWN_KEY_MS);
        return { kind: "unknown" };
      }
      if (ids.size >= maxKeys) ids.clear();
      ids.set(hash, id);
      return { kind: "known", id, cold: true };
    },
    resolves: () => resolves,
  };
}
