import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HEALTHY_RANKING, serveFeed, serveHealthyFeeds } from "../support/feeds.ts";
import { type FetchStub, jsonResponse, stubFetch } from "../support/stub-fetch.ts";

let stub: FetchStub;
beforeEach(() => {
  stub = stubFetch();
});
afterEach(() => stub.restore());

let objectCount = 0;
function freshObject() {
  objectCount += 1;
  return env.CONTROL_PLANE.getByName(`alarm-test-${objectCount}`);
}

describe("control-plane alarm", () => {
  it("arms itself on first use and refreshes on each alarm, re-arming UTILIZATION_REFRESH_MS later", async () => {
    serveHealthyFeeds(stub);
    const object = freshObject();
    await object.getView();
    const armed = await runInDurableObject(object, (_instance, state) => state.storage.getAlarm());
    expect(armed).not.toBeNull();

    const beforeAlarm = Date.now();
    expect(await runDurableObjectAlarm(object)).toBe(true);
    const next = await runInDurableObject(object, (_instance, state) => state.storage.getAlarm());
    expect(next).toBeGreaterThanOrEqual(beforeAlarm + 5000);
    expect(next).toBeLessThan(beforeAlarm + 5000 + 2000);
    expect((await object.getView()).candidates.map((c) => c.name)).toEqual(HEALTHY_RANKING);
  });

  it("re-arms even when the refresh fails, so the snapshot recovers without a cron tick", async () => {
    serveFeed(stub, "utilization", () => jsonResponse({ detail: "down" }, 503));
    serveFeed(stub, "models", () => jsonResponse({ detail: "down" }, 503));
    const object = freshObject();
    await object.getView();
    await runDurableObjectAlarm(object);
    expect(await runInDurableObject(object, (_instance, state) => state.storage.getAlarm())).not.toBeNull();
  });
});
