// What every pipeline stage reads: the env and its config, this isolate's state, the clock, and the
// request's waitUntil. Built once per request by the adapter's route.
import type { Config } from "../config.ts";
import { type IsolateState, isolateState } from "../isolate/isolate-state.ts";

export interface RoutingContext {
  env: Env;
  config: Config;
  isolate: IsolateState;
  /** When the request arrived; stages that need "now" at a later point call `now()`. */
  startedMs: number;
  now: () => number;
  waitUntil: (promise: Promise<unknown>) => void;
}

export function createRoutingContext(
  env: Env,
  config: Config,
  startedMs: number,
  waitUntil: (promise: Promise<unknown>) => void,
): RoutingContext {
  return { env, config, isolate: isolateState(env), startedMs, now: Date.now, waitUntil };
}
