// Serves the hand-made feed fixtures through the fetch stub, switchable per test.
import MODELS_HEALTHY from "../../fixtures/models-healthy.json";
import UTILIZATION_HEALTHY from "../../fixtures/utilization-healthy.json";
import { FEED_URLS, type FetchStub, jsonResponse, type StubHandler } from "./stub-fetch.ts";

export { MODELS_HEALTHY, UTILIZATION_HEALTHY };

/** Both feeds healthy, from the fixtures. */
export function serveHealthyFeeds(stub: FetchStub): void {
  stub.on(FEED_URLS.utilization, () => jsonResponse(UTILIZATION_HEALTHY));
  stub.on(FEED_URLS.models, () => jsonResponse(MODELS_HEALTHY));
}

export function serveFeed(stub: FetchStub, feed: keyof typeof FEED_URLS, handler: StubHandler): void {
  stub.on(FEED_URLS[feed], handler);
}

/** The names the healthy fixtures rank, best first (alpha 8.0, beta 2.1, gamma-TEE 1.8). */
export const HEALTHY_RANKING = ["acme/alpha-70b", "acme/beta-8b", "acme/gamma-TEE"];
