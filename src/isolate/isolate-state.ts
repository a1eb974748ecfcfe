// Everything an isolate keeps between requests, in one place: the routing view and model caches, the sticky
// cache, the half-open probes it holds, the outcome queue and the managed keys' leases. Kept per Worker env in a WeakMap (an isolate
// gets the same env object on every request), so no module holds an env of its own and a differently
// configured env in tests gets state of its own.
import { controlPlaneStub } from "../state/control-plane.ts";
import { keyDirectoryStub, keyLedgerStub } from "../state/key-objects.ts";
import { stickyShardName } from "../state/sticky-shard.ts";
import { createKeyLeases, type KeyLeases } from "./key-leases.ts";
import { createOutcomeQueue, type OutcomeQueue } from "./outcome-queue.ts";
import { createProbeSet, type ProbeSet } from "./probes.ts";
import { createStickyCache, type StickyCache } from "./sticky-cache.ts";
import { createViewCache, type ViewCache } from "./view-cache.ts";

export interface IsolateState {
  views: ViewCache;
  sticky: StickyCache;
  probes: ProbeSet;
  outcomes: OutcomeQueue;
  keys: KeyLeases;
}

const states = new WeakMap<object, IsolateState>();

/** This isolate's state for `env`, made on first use. */
export function isolateState(env: Env): IsolateState {
  let state = states.get(env);
  if (!state) {
    state = createIsolateState(env);
    states.set(env, state);
  }
  return state;
}

function createIsolateState(env: Env): IsolateState {
  const views = createViewCache(() => controlPlaneStub(env));
  return {
    views,
    sticky: createStickyCache((key) => env.STICKY_SHARD.getByName(stickyShardName(key)).lookup(key)),
    probes: createProbeSet(),
    outcomes: createOutcomeQueue({
      reportOutcomes: (reports) => controlPlaneStub(env).reportOutcomes(reports),
      applySticky: (name, writes) => env.STICKY_SHARD.getByName(name).apply(writes),
      shardNameOf: stickyShardName,
      storeView: views.store,
    }),
    keys: createKeyLeases(
      {
        resolve: (hash) => keyDirectoryStub(env).resolve(hash),
        sync: (id, request) => keyLedgerStub(env, id).sync(request),
      },
      crypto.randomUUID(),
      () => Date.now(),
    ),
  };
}
