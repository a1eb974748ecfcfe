// Per-isolate views of the control-plane object. Requests never wait on the object while the cached copy is
// younger than VIEW_TTL_MS. The trade-off accepted: an isolate may route on a view up to a second old, well
// below the feeds' own 5 s refresh period.
import type { ModelEntry } from "../core/feeds.ts";
import type { RoutingView } from "../core/snapshot.ts";
import { CONTROL_PLANE_NAME } from "../state/control-plane.ts";
import { createIsolateCache, type IsolateCache } from "./isolate-cache.ts";

export const VIEW_TTL_MS = 1000;
/** Beyond this age a request waits for a fresh view instead of routing on the cached one. */
export const VIEW_MAX_STALE_MS = 10_000;

/** The view plus lookups derived from it once per load. */
export interface CachedView {
  view: RoutingView;
  allowlist: ReadonlySet<string>;
}

// The latest env seen; isolates get the same bindings on every request, so loads may use any of them.
let currentEnv: Env | null = null;

const viewCache: IsolateCache<CachedView> = createIsolateCache(VIEW_TTL_MS, async () =>
  toCachedView(await controlPlane(requireEnv()).getView()),
);

function toCachedView(view: RoutingView): CachedView {
  return { view, allowlist: new Set(view.allowlist) };
}

const modelsCache: IsolateCache<ModelEntry[]> = createIsolateCache(VIEW_TTL_MS, () =>
  controlPlane(requireEnv()).getModels(),
);

/** The stub of the fleet's one control-plane object. */
export function controlPlane(env: Env) {
  return env.CONTROL_PLANE.getByName(CONTROL_PLANE_NAME);
}

/** The routing view, from this isolate's cache when younger than VIEW_TTL_MS. */
export function loadRoutingView(env: Env, nowMs: number): Promise<CachedView> {
  currentEnv = env;
  return viewCache.get(nowMs);
}

/** For the request path: the cached view at once while younger than VIEW_MAX_STALE_MS, refreshed behind. */
export function loadRoutingViewForRequest(
  env: Env,
  nowMs: number,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<CachedView> {
  currentEnv = env;
  return viewCache.getStale(nowMs, VIEW_MAX_STALE_MS, waitUntil);
}

/** The cached view if this isolate has one younger than VIEW_MAX_STALE_MS (never waits), loading one behind. */
export function peekRoutingView(
  env: Env,
  nowMs: number,
  waitUntil: (promise: Promise<unknown>) => void,
): CachedView | null {
  currentEnv = env;
  return viewCache.peek(nowMs, VIEW_MAX_STALE_MS, waitUntil);
}

/** Stores a view that arrived another way (the answer to an outcome report). */
export function storeRoutingView(view: RoutingView, nowMs: number): void {
  viewCache.set(toCachedView(view), nowMs);
}

/** The allowlisted models with metadata, cached like the view. */
export function loadModels(env: Env, nowMs: number): Promise<ModelEntry[]> {
  currentEnv = env;
  return modelsCache.get(nowMs);
}

/** Forgets both cached copies (tests, and after this isolate changed the object). */
export function invalidateRoutingView(): void {
  viewCache.clear();
  modelsCache.clear();
}

function requireEnv(): Env {
  if (!currentEnv) throw new Error("routing view loaded before any request set the env");
  return currentEnv;
}
