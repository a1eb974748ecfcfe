// The per-location aggregator with the shipped AGGREGATOR_FORWARD_MS (1 s), driven by its alarm: isolates'
// digests are held and merged, one forward per period carries them all to the control plane and brings the
// view back, and a location that goes quiet stops calling (research/SCALE.md).
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { OutcomeReport } from "../../src/core/outcome.ts";
import { digestReports } from "../../src/core/outcome-digest.ts";
import { ControlPlane, controlPlaneStub } from "../../src/state/control-plane.ts";
import { aggregatorStub } from "../../src/state/location-aggregator.ts";
import { HEALTHY_RANKING, serveHealthyFeeds } from "../support/feeds.ts";
import { type FetchStub, stubFetch } from "../support/stub-fetch.ts";

const [ALPHA] = HEALTHY_RANKING as [string];
let stub: FetchStub;
beforeEach(async () => {
  stub = stubFetch();
  serveHealthyFeeds(stub);
  await controlPlaneStub(env).refreshNow();
});
afterEach(() => {
  stub.restore();
  vi.restoreAllMocks();
});

let locations = 0;
function freshLocation() {
  locations += 1;
  return aggregatorStub(env, `TEST${locations}`);
}

function failure(model: string): OutcomeReport {
  return {
    status: 502,
    selected: null,
    attempts: [{ model, outcome: "retryable", reason: "upstream_503", status: 503, ms: 5 }],
    stream: null,
    usage: null,
  };
}

function success(model: string): OutcomeReport {
  return {
    status: 200,
    selected: model,
    attempts: [{ model, outcome: "committed", reason: null, status: 200, ms: 40 }],
    stream: { end: "complete", ttfbMs: 45, durationMs: 90, eventStream: true },
    usage: null,
  };
}

describe("location aggregator", () => {
  it("holds its isolates' digests until its alarm, then forwards them in one call", async () => {
    await controlPlaneStub(env).reportOutcomes([success(ALPHA)]);
    const location = freshLocation();
    await location.getView();
    const applyDigest = vi.spyOn(ControlPlane.prototype, "applyDigest");
    // Three isolates each saw a failure and a success: nothing urgent, so it all waits for the alarm.
    for (let i = 0; i < 3; i++)
      await location.report(digestReports([failure(ALPHA), success(ALPHA)], Date.now()));
    expect(applyDigest).not.toHaveBeenCalled();
    const before = (await controlPlaneStub(env).getView()).health[ALPHA]?.failureRate ?? 0;

    expect(await runDurableObjectAlarm(location)).toBe(true);
    expect(applyDigest).toHaveBeenCalledTimes(1);
    expect(applyDigest.mock.calls[0]?.[0].reports).toBe(6);
    expect((await controlPlaneStub(env).getView()).health[ALPHA]?.failureRate).toBeGreaterThan(before);
    // The forward's answer is the view the location's isolates now read, without another call.
    const getView = vi.spyOn(ControlPlane.prototype, "getView");
    expect((await location.getView()).health[ALPHA]?.failureRate).toBeGreaterThan(before);
    expect(getView).not.toHaveBeenCalled();
    await controlPlaneStub(env).reportOutcomes([success(ALPHA)]);
  });

  it("forwards at once when its pending failures alone would open a closed breaker", async () => {
    await controlPlaneStub(env).reportOutcomes([success(ALPHA)]);
    const location = freshLocation();
    await location.getView();
    const applyDigest = vi.spyOn(ControlPlane.prototype, "applyDigest");
    // A success between failures keeps the run short: no hurry.
    await location.report(digestReports([failure(ALPHA), success(ALPHA), failure(ALPHA)], Date.now()));
    expect(applyDigest).not.toHaveBeenCalled();
    const view = await location.report(digestReports([failure(ALPHA), failure(ALPHA)], Date.now()));
    expect(applyDigest).toHaveBeenCalledTimes(1);
    expect(view.breakers[ALPHA]?.openedAtMs).not.toBeNull();
    await controlPlaneStub(env).reportOutcomes([success(ALPHA)]);
  });

  it("keeps re-arming while isolates call, and stops after a quiet period", async () => {
    const location = freshLocation();
    await location.getView();
    const alarmSet = () => runInDurableObject(location, (_instance, state) => state.storage.getAlarm());
    expect(await alarmSet()).not.toBeNull();
    expect(await runDurableObjectAlarm(location)).toBe(true);
    expect(await alarmSet()).not.toBeNull();
    // Nobody called during that period: this alarm is the last.
    expect(await runDurableObjectAlarm(location)).toBe(true);
    expect(await alarmSet()).toBeNull();
  });

  it("keeps a digest whose forward failed for the next one", async () => {
    const location = freshLocation();
    await location.getView();
    await location.report(digestReports([success(ALPHA), failure(ALPHA)], Date.now()));
    const applyDigest = vi
      .spyOn(ControlPlane.prototype, "applyDigest")
      .mockRejectedValueOnce(new Error("control plane unreachable"));
    await runDurableObjectAlarm(location).catch(() => {});
    await location.report(digestReports([failure(ALPHA)], Date.now()));
    await runDurableObjectAlarm(location);
    expect(applyDigest).toHaveBeenCalledTimes(2);
    expect(applyDigest.mock.calls[1]?.[0].reports).toBe(3);
    await controlPlaneStub(env).reportOutcomes([success(ALPHA)]);
  });
});
