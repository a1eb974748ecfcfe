// A value cached per isolate for a bounded time, with concurrent misses sharing one load. Used to keep the
// single control-plane object off the request path: each isolate asks it at most about once a TTL.

export interface IsolateCache<T> {
  /** The cached value when younger than the TTL, else waits for a fresh load. */
  get(nowMs: number): Promise<T>;
  /**
   * Stale-while-revalidate: the cached value at once when younger than `maxStaleMs` (starting a background
   * load under `waitUntil` once it is older than the TTL); waits for a load only when there is none that young.
   */
  getStale(nowMs: number, maxStaleMs: number, waitUntil: (promise: Promise<unknown>) => void): Promise<T>;
  /**
   * Never waits: the cached value when younger than `maxStaleMs`, else null; starts a background load once the
   * value is older than the TTL or missing.
   */
  peek(nowMs: number, maxStaleMs: number, waitUntil: (promise: Promise<unknown>) => void): T | null;
  /** Replaces the value (a fresher copy that arrived another way). */
  set(data: T, nowMs: number): void;
  /** Forgets the value, so the next get loads (tests). */
  clear(): void;
}

export function createIsolateCache<T>(ttlMs: number, load: () => Promise<T>): IsolateCache<T> {
  let value: { data: T; loadedAtMs: number } | null = null;
  let inflight: Promise<T> | null = null;
  const ageOf = (nowMs: number) => (value ? Math.max(0, nowMs - value.loadedAtMs) : Number.POSITIVE_INFINITY);
  const reload = (nowMs: number): Promise<T> => {
    inflight ??= load()
      .then((data) => {
        value = { data, loadedAtMs: nowMs };
        return data;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };
  const backgroundReload = (nowMs: number, waitUntil: (promise: Promise<unknown>) => void) => {
    waitUntil(reload(nowMs).catch(() => {}));
  };
  return {
    get(nowMs) {
      return value && ageOf(nowMs) < ttlMs ? Promise.resolve(value.data) : reload(nowMs);
    },
    getStale(nowMs, maxStaleMs, waitUntil) {
      const age = ageOf(nowMs);
      if (!value || age >= maxStaleMs) return reload(nowMs);
      if (age >= ttlMs) backgroundReload(nowMs, waitUntil);
      return Promise.resolve(value.data);
    },
    peek(nowMs, maxStaleMs, waitUntil) {
      const age = ageOf(nowMs);
      if (age >= ttlMs) backgroundReload(nowMs, waitUntil);
      return value && age < maxStaleMs ? value.data : null;
    },
    set(data, nowMs) {
      value = { data, loadedAtMs: nowMs };
    },
    clear() {
      value = null;
    },
  };
}
