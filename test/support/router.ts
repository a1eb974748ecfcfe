// Calls the Worker the way a client would, and resets the state a test file shares.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { controlPlane, invalidateRoutingView } from "../../src/control/routing-view.ts";

export const ROUTER_ORIGIN = "http://router.test";

/** Sends a request through the Worker's entry point (`export default`), as a client would. */
export function callRouter(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${ROUTER_ORIGIN}${path}`, init));
}

/** Forgets this isolate's cached routing view, so the next request reads the control-plane object. */
export function forgetCachedView(): void {
  invalidateRoutingView();
}

/** Empties the control-plane object (storage and memory), as on a first deploy. */
export async function resetControlPlane(): Promise<void> {
  const object = controlPlane(env);
  await runInDurableObject(object, (_instance, state) => state.storage.deleteAll());
  await evictDurableObject(object);
  invalidateRoutingView();
}
