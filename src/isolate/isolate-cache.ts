// A value cached per isolate for a bounded time. Used to keep the single control-plane object off the request
// path: each isolate asks it about once a TTL. Only plain data is shared between requests, never a promise:
// the Workers runtime cancels continuations that one request resolves for another, so a request that must
// wait makes its own load, and background refreshes are de-duplicated with a flag, not a shared promise.

export interface IsolateCache<T> {
  /** The cached value when younger than the TTL, else waits for a fresh load made by this request. */
  get(nowMs: number): Promise<T>;
  /**
   * Stale-while-revalidate: the cached value at once when younger than `maxStaleMs` (starting one background
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

const BACKGROUND_LOAD_GIVE_UP_MS = 5000;

export function createIsolateCache<T>(ttlMs: number, load: () => Promise<T>): IsolateCache<T> {
  let value: { data: T; loadedAtMs: number } | null = null;
  // When the background load under way started; a load whose request was cancelled never clears it, so it
  // counts as over after BACKGROUND_LOAD_GIVE_UP_MS.
  let backgroundSinceMs: number | null = null;
  const ageOf = (nowMs: number) => (value ? Math.max(0, nowMs - value.loadedAtMs) : Number.POSITIVE_INFINITY);
  const store = (data: T, nowMs: number) => {
    if (!value || nowMs >= value.loadedAtMs) value = { data, loadedAtMs: nowMs };
    return data;
  };
  const loadNow = async (nowMs: number) => store(await load(), nowMs);
  const loadBehind = (nowMs: number, waitUntil: (promise: Promise<unknown>) => void) => {
    if (backgroundSinceMs !== null && nowMs - backgroundSinceMs < BACKGROUND_LOAD_GIVE_UP_MS) return;
    backgroundSinceMs = nowMs;
    waitUntil(
      loadNow(nowMs)
        .catch(() => {})
        .finally(() => {
          backgroundSinceMs = null;
        }),
    );
  };
  return {
    get(nowMs) {
      return value && ageOf(nowMs) < ttlMs ? Promise.resolve(value.data) : loadNow(nowMs);
    },
    getStale(nowMs, maxStaleMs, waitUntil) {
      const age = ageOf(nowMs);
      if (!value || age >= maxStaleMs) return loadNow(nowMs);
      if (age >= ttlMs) loadBehind(nowMs, waitUntil);
      return Promise.resolve(value.data);
    },
    peek(nowMs, maxStaleMs, waitUntil) {
      const age = ageOf(nowMs);
      if (age >= ttlMs) loadBehind(nowMs, waitUntil);
      return value && age < maxStaleMs ? value.data : null;
    },
    set(data, nowMs) {
      store(data, nowMs);
    },
    clear() {
      value = null;
    },
  };
}
