import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import FEED_ERROR_PAGE from "../fixtures/feed-error-page.html?raw";
import MODELS_EMPTY from "../fixtures/models-empty.json";
import UTILIZATION_WRONG_TYPES from "../fixtures/utilization-row-with-wrong-types.json";
import { HEALTHY_RANKING, serveFeed, serveHealthyFeeds } from "./support/feeds.ts";
import { FEED_URLS, type FetchStub, jsonResponse, stubFetch } from "./support/stub-fetch.ts";

let stub: FetchStub;
let objectCount = 0;

beforeEach(() => {
  stub = stubFetch();
});
afterEach(() => stub.restore());

/** A fresh control-plane object per test (storage is shared within a file). */
function freshObject() {
  objectCount += 1;
  return env.CONTROL_PLANE.getByName(`control-plane-test-${objectCount}`);
}

describe("control-plane refresh", () => {
  it("ranks the feeds into a snapshot and records when each succeeded", async () => {
    serveHealthyFeeds(stub);
    const object = freshObject();
    const before = Date.now();
    const report = await object.refreshNow();
    expect(report).toEqual({ utilization: "ok", models: "ok", candidates: 3 });
    const view = await object.getView();
    expect(view.candidates.map((c) => c.name)).toEqual(HEALTHY_RANKING);
    expect(view.candidates[0]).toMatchObject({
      chuteId: "c-alpha",
      activeInstances: 10,
      confidentialCompute: false,
    });
    expect(view.candidates[0]?.score).toBeCloseTo(8, 10);
    expect(view.allowlist).toEqual(["acme/alpha-70b", "acme/beta-8b", "acme/gamma-TEE", "acme/idle-3b"]);
    expect(view.utilization.lastSuccessMs).toBeGreaterThanOrEqual(before);
    expect(view.models.lastSuccessMs).toBeGreaterThanOrEqual(before);
    expect(view.utilization.lastError).toBeNull();
  });

  it("keeps the last-known-good snapshot and its timestamp when a refresh fails", async () => {
    serveHealthyFeeds(stub);
    const object = freshObject();
    await object.refreshNow();
    const good = await object.getView();

    serveFeed(
      stub,
      "utilization",
      () => new Response(FEED_ERROR_PAGE, { status: 502, headers: { "content-type": "text/html" } }),
    );
    const report = await object.refreshNow();
    expect(report.utilization).toBe("failed");
    const after = await object.getView();
    expect(after.candidates).toEqual(good.candidates);
    expect(after.utilization.lastSuccessMs).toBe(good.utilization.lastSuccessMs);
    expect(after.utilization.lastError).toBe("HTTP 502");
    expect(after.utilization.lastAttemptMs).toBeGreaterThanOrEqual(good.utilization.lastAttemptMs ?? 0);
  });

  it("treats an HTML page served with 200 as a failed refresh", async () => {
    serveHealthyFeeds(stub);
    const object = freshObject();
    await object.refreshNow();
    serveFeed(
      stub,
      "utilization",
      () => new Response(FEED_ERROR_PAGE, { status: 200, headers: { "content-type": "text/html" } }),
    );
    await object.refreshNow();
    const view = await object.getView();
    expect(view.utilization.lastError).toBe("body is not JSON");
    expect(view.candidates.map((c) => c.name)).toEqual(HEALTHY_RANKING);
  });

  it("treats a feed that does not answer in time as failed", async () => {
    serveHealthyFeeds(stub);
    serveFeed(
      stub,
      "utilization",
      (request) =>
        new Promise((_resolve, reject) => {
          request.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
    );
    const object = env.CONTROL_PLANE.getByName("control-plane-timeout");
    // The test env keeps CONTROL_PLANE_TIMEOUT_MS at its default; this object gets a short one through its env.
    const report = await runInDurableObject(object, async (instance) => {
      (instance as unknown as { env: Record<string, unknown> }).env = {
        ...env,
        CONTROL_PLANE_TIMEOUT_MS: "50",
      };
      return instance.refreshNow();
    });
    expect(report.utilization).toBe("failed");
    expect((await object.getView()).utilization.lastError).toBe("timed out after 50 ms");
  });

  it("replaces the snapshot when a feed succeeds empty", async () => {
    serveHealthyFeeds(stub);
    const object = freshObject();
    await object.refreshNow();
    serveFeed(stub, "utilization", () => jsonResponse([]));
    await object.refreshNow();
    const view = await object.getView();
    expect(view.candidates).toEqual([]);
    expect(view.utilization.lastError).toBeNull();
  });

  it("skips rows with wrong types and counts them, keeping the rest", async () => {
    serveHealthyFeeds(stub);
    serveFeed(stub, "utilization", () => jsonResponse(UTILIZATION_WRONG_TYPES));
    const object = freshObject();
    await object.refreshNow();
    const view = await object.getView();
    expect(view.candidates.map((c) => c.name)).toEqual(["acme/alpha-70b"]);
    expect(view.utilization.skippedRows).toBe(2);
  });

  it("falls back to -TEE models when the allowlist succeeds empty", async () => {
    serveHealthyFeeds(stub);
    serveFeed(stub, "models", () => jsonResponse(MODELS_EMPTY));
    const object = freshObject();
    await object.refreshNow();
    expect((await object.getView()).candidates.map((c) => c.name)).toEqual(["acme/gamma-TEE"]);
  });

  it("keeps the allowlist until MODELS_REFRESH_MS has passed since its last success", async () => {
    serveHealthyFeeds(stub);
    const object = freshObject();
    await object.refreshNow();
    await object.refreshNow();
    const modelCalls = stub.calls.filter((request) => request.url === FEED_URLS.models);
    const utilizationCalls = stub.calls.filter((request) => request.url === FEED_URLS.utilization);
    expect(modelCalls).toHaveLength(1);
    expect(utilizationCalls).toHaveLength(2);
  });

  it("retries the allowlist on every tick while it has never succeeded", async () => {
    serveHealthyFeeds(stub);
    serveFeed(stub, "models", () => jsonResponse({ detail: "Internal server error" }, 500));
    const object = freshObject();
    await object.refreshNow();
    await object.refreshNow();
    expect(stub.calls.filter((request) => request.url === FEED_URLS.models)).toHaveLength(2);
    expect((await object.getView()).models.lastSuccessMs).toBeNull();
  });

  it("joins overlapping refreshes into one, so an older result can never land last", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    serveHealthyFeeds(stub);
    serveFeed(stub, "utilization", async () => {
      await gate;
      return jsonResponse((await import("../fixtures/utilization-healthy.json")).default);
    });
    const object = freshObject();
    const first = object.refreshNow();
    const second = object.refreshNow();
    release();
    const reports = await Promise.all([first, second]);
    expect(reports[0]).toEqual(reports[1]);
    expect(stub.calls.filter((request) => request.url === FEED_URLS.utilization)).toHaveLength(1);
  });

  it("survives a restart: state is read back from SQLite", async () => {
    serveHealthyFeeds(stub);
    const object = freshObject();
    await object.refreshNow();
    const before = await object.getView();
    await evictDurableObject(object);
    expect(await object.getView()).toEqual(before);
  });
});
