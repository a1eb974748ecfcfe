// How many Durable Object calls a request waits for, per mode (issue #3's budget): direct none; alias and
// list at most one (the sticky shard) and none when the isolate's caches are warm. Checked by making the
// objects hang: a request that waited on one would never finish.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ModelEntry } from "../src/core/feeds.ts";
import { ControlPlane } from "../src/state/control-plane.ts";
import { LocationAggregator } from "../src/state/location-aggregator.ts";
import { StickyShard } from "../src/state/sticky-shard.ts";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, clearStickyCache, forgetCachedView, settleOutcomes } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { serveUpstream } from "./support/upstream.ts";

const [ALPHA, BETA] = HEALTHY_RANKING as [string, string];
const stub = useRoutingFixture();
afterEach(() => {
  vi.restoreAllMocks();
});

const CLIENT = { authorization: "Bearer cpk_critical_path_client" };

/** The request's status, or "hung" if it has not answered within 2 s. */
async function statusWithin(model: string): Promise<number | "hung"> {
  const hung = new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 2000));
  const answered = callRouter(
    "/v1/chat/completions",
    chatRequest({ model, messages: MESSAGES }, CLIENT),
  ).then(async (r) => {
    await r.text();
    return r.status;
  });
  return Promise.race([answered, hung]);
}

function hangObjects() {
  const never = () => new Promise<never>(() => {});
  return {
    // The isolate's view and reports go through its location's aggregator (research/SCALE.md).
    getView: vi.spyOn(LocationAggregator.prototype, "getView").mockImplementation(never),
    report: vi.spyOn(LocationAggregator.prototype, "report").mockImplementation(never),
    getModels: vi
      .spyOn(ControlPlane.prototype, "getModels")
      .mockImplementation(never as unknown as () => ModelEntry[]),
    // An RPC caller awaits whatever the method returns, so a never-settling promise hangs it like a dead object.
    lookup: vi.spyOn(StickyShard.prototype, "lookup").mockImplementation(never as unknown as () => null),
  };
}

describe("Durable Object calls on the critical path", () => {
  it("direct mode answers while every object hangs, even on a cold isolate", async () => {
    serveUpstream(stub(), {});
    forgetCachedView();
    clearStickyCache();
    hangObjects();
    expect(await statusWithin(BETA)).toBe(200);
  });

  it.each([["chutesai/AutoPilot"], [`${BETA},${ALPHA}`]])(
    "%s answers while every object hangs once the isolate's caches are warm",
    async (model) => {
      serveUpstream(stub(), {});
      expect(await statusWithin(model)).toBe(200);
      hangObjects();
      expect(await statusWithin(model)).toBe(200);
      expect(await statusWithin(model)).toBe(200);
    },
  );

  it.each([["chutesai/AutoPilot"], [`${BETA},${ALPHA}`]])(
    "%s makes exactly one call, the sticky shard lookup, when only the sticky cache is cold",
    async (model) => {
      serveUpstream(stub(), {});
      expect(await statusWithin(model)).toBe(200);
      await settleOutcomes();
      clearStickyCache();
      const getView = vi.spyOn(LocationAggregator.prototype, "getView");
      const lookup = vi.spyOn(StickyShard.prototype, "lookup");
      expect(await statusWithin(model)).toBe(200);
      expect(lookup).toHaveBeenCalledTimes(1);
      expect(getView).toHaveBeenCalledTimes(0);
    },
  );

  // How many reports share a flush depends on how fast the requests finish (the queue's own test pins the
  // batching with its delay in hand, src/isolate/outcome-queue.test.ts); here every report must arrive, in
  // fewer calls than requests, however busy the machine is.
  it("batches the outcome reports of many requests into digests for the location's aggregator", async () => {
    serveUpstream(stub(), {});
    await statusWithin("chutesai/AutoPilot");
    await settleOutcomes();
    const report = vi.spyOn(LocationAggregator.prototype, "report");
    await Promise.all(Array.from({ length: 10 }, () => statusWithin("chutesai/AutoPilot")));
    await settleOutcomes();
    const batches = report.mock.calls.map(([digest]) => digest.reports);
    expect(batches.reduce((sum, reports) => sum + reports, 0)).toBe(10);
    expect(batches.length).toBeLessThan(10);
  });
});
