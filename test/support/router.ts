// Calls the Worker the way a client would, and resets the state a test file shares.
import {
  createExecutionContext,
  createScheduledController,
  env,
  evictDurableObject,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { app } from "../../src/app.ts";
import worker from "../../src/index.ts";
import { isolateState } from "../../src/isolate/isolate-state.ts";
import { controlPlaneStub } from "../../src/state/control-plane.ts";

export const ROUTER_ORIGIN = "http://router.test";

/** Sends a request through the Worker's entry point (`export default`), as a client would. */
export function callRouter(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${ROUTER_ORIGIN}${path}`, init));
}

/** Forgets this isolate's cached routing view, so the next request reads the control-plane object. */
export function forgetCachedView(): void {
  isolateState(env).views.clear();
}

/** Forgets this isolate's sticky cache, so the next lookup goes to the shard as another isolate's would. */
export function clearStickyCache(): void {
  isolateState(env).sticky.clear();
}

/** Empties the control-plane object (storage and memory), as on a first deploy. */
export async function resetControlPlane(): Promise<void> {
  const object = controlPlaneStub(env);
  await runInDurableObject(object, (_instance, state) => state.storage.deleteAll());
  await evictDurableObject(object);
  forgetCachedView();
}

/** Runs the cron trigger to completion, then drops the isolate's cached view. */
export async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
  forgetCachedView();
}

/**
 * Envs made by callRouterWith. Each has isolate state of its own, and a committed stream reports when the
 * test has read its body, after the request's own context was waited for: settleOutcomes waits for them too.
 */
const envsWithOverrides: Env[] = [];

/** Sends a request through the app with some vars overridden (a differently configured deployment). */
export async function callRouterWith(
  overrides: Record<string, string>,
  path: string,
  init?: RequestInit,
): Promise<Response> {
  const ctx = createExecutionContext();
  const configured = { ...env, ...overrides };
  envsWithOverrides.push(configured);
  const response = await app.fetch(new Request(`${ROUTER_ORIGIN}${path}`, init), configured, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/**
 * Sends every queued outcome report and sticky write (the flush also refreshes the isolate's routing view),
 * then forgets the local sticky cache, so the next lookup goes to the shard as another isolate's would.
 */
export async function settle(): Promise<void> {
  await settleOutcomes();
  clearStickyCache();
}

/** Waits (at most 2 s) until every queued outcome report has been flushed by the requests that queued it. */
export function settleOutcomes(): Promise<void> {
  return waitFor(
    () => [env, ...envsWithOverrides].every((each) => isolateState(each).outcomes.idle()),
    2000,
    "outcome reports were not flushed",
  );
}

/** Polls `done` every 5 ms; throws `what` if it is not done within `limitMs`. */
async function waitFor(done: () => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${limitMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A deployment with some vars overridden that keeps one env, so one isolate's state, across calls (another
 * configuredRouter with the same vars is another isolate sharing the same objects). Calls do not wait for
 * their waitUntil work (a managed key's usage report waits a second); `drain` does.
 */
export function configuredRouter(overrides: Record<string, string>) {
  const configured = { ...env, ...overrides };
  envsWithOverrides.push(configured);
  const pending: ExecutionContext[] = [];
  return {
    env: configured,
    call(path: string, init?: RequestInit): Promise<Response> {
      const ctx = createExecutionContext();
      pending.push(ctx);
      return Promise.resolve(app.fetch(new Request(`${ROUTER_ORIGIN}${path}`, init), configured, ctx));
    },
    async drain(): Promise<void> {
      while (pending.length > 0)
        await Promise.all(pending.splice(0).map((ctx) => waitOnExecutionContext(ctx)));
      await waitFor(() => isolateState(configured).keys.idle(), 3000, "key usage was not reported");
    },
  };
}
