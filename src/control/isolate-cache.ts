// A value cached per isolate for a bounded time, with concurrent misses sharing one load. Used to keep the
// single control-plane object off the request path: each isolate asks it at most about once a second.

export interface IsolateCache<T> {
  /** The cached value when younger than the TTL, else a fresh load. */
  get(nowMs: number): Promise<T>;
  /** Forget the value, so the next get loads (after a local write, and in tests). */
  clear(): void;
}

export function createIsolateCache<T>(ttlMs: number, load: () => Promise<T>): IsolateCache<T> {
  let value: { data: T; loadedAtMs: number } | null = null;
  let inflight: Promise<T> | null = null;
  return {
    get(nowMs) {
      if (value && nowMs >= value.loadedAtMs && nowMs - value.loadedAtMs < ttlMs)
        return Promise.resolve(value.data);
      inflight ??= load()
        .then((data) => {
          value = { data, loadedAtMs: nowMs };
          return data;
        })
        .finally(() => {
          inflight = null;
        });
      return inflight;
    },
    clear() {
      value = null;
    },
  };
}
