// This isolate's copies of the control-plane object's routing view and model list. Requests never wait on the
// object while the cached view is younger than VIEW_TTL_MS. The trade-off accepted: an isolate may route on a
// view up to a second old, well below the feeds' own 5 s refresh period.
import type { ModelEntry } from "../core/feeds.ts";
import type { RoutingView } from "../core/snapshot.ts";
import { createIsolateCache, type IsolateCache } from "./isolate-cache.ts";

export const VIEW_TTL_MS = 1000;
/** Beyond this age a request waits for a fresh view instead of routing on the cached one. */
export const VIEW_MAX_STALE_MS = 10_000;

type WaitUntil = (promise: Promise<unknown>) => void;

/** The view plus lookups derived from it once per load. */
export interface CachedView {
  view: RoutingView;
  allowlist: ReadonlySet<string>;
}

export interface ViewCache {
  /** The routing view, from this isolate's cache when younger than VIEW_TTL_MS. */
  load(nowMs: number): Promise<CachedView>;
  /** For the request path: the cached view at once while younger than VIEW_MAX_STALE_MS, refreshed behind. */
  loadForRequest(nowMs: number, waitUntil: WaitUntil): Promise<CachedView>;
  /** The cached view if younger than VIEW_MAX_STALE_MS (never waits), loading one behind. */
  peek(nowMs: number, waitUntil: WaitUntil): CachedView | null;
  /** Stores a view that arrived another way (the answer to an outcome report). */
  store(view: RoutingView, nowMs: number): void;
  /** The allowlisted models with metadata, cached like the view. */
  loadModels(nowMs: number): Promise<ModelEntry[]>;
  /** Forgets both copies (tests, and after this isolate changed the object). */
  clear(): void;
}

/** Where views and models come from: the location's aggregator and the control plane. */
export interface ViewSource {
  getView(): Promise<RoutingView>;
  getModels(): Promise<ModelEntry[]>;
}

export function createViewCache(source: ViewSource): ViewCache {
  const views = createIsolateCache(VIEW_TTL_MS, async () => toCachedView(await source.getView()));
  const models: IsolateCache<ModelEntry[]> = createIsolateCache(VIEW_TTL_MS, () => source.getModels());
  return {
    load: (nowMs) => views.get(nowMs),
    loadForRequest: (nowMs, waitUntil) => views.getStale(nowMs, VIEW_MAX_STALE_MS, waitUntil),
    peek: (nowMs, waitUntil) => views.peek(nowMs, VIEW_MAX_STALE_MS, waitUntil),
    store: (view, nowMs) => views.set(toCachedView(view), nowMs),
    loadModels: (nowMs) => models.get(nowMs),
    clear() {
      views.clear();
      models.clear();
    },
  };
}

function toCachedView(view: RoutingView): CachedView {
  return { view, allowlist: new Set(view.allowlist) };
}
