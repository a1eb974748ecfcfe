// Per-test setup shared by the data-plane suites: fetch stubbed, control plane emptied and refreshed from
// the healthy fixtures, and every queued outcome flushed before the next test.
import { afterEach, beforeEach } from "vitest";
import { serveHealthyFeeds } from "./feeds.ts";
import { resetControlPlane, runCron, settle } from "./router.ts";
import { type FetchStub, stubFetch } from "./stub-fetch.ts";

/** Installs the hooks; the returned getter gives the current test's stub. */
export function useRoutingFixture(): () => FetchStub {
  let stub: FetchStub | null = null;
  beforeEach(async () => {
    stub = stubFetch();
    await resetControlPlane();
    serveHealthyFeeds(stub);
    await runCron();
  });
  afterEach(async () => {
    await settle();
    stub?.restore();
  });
  return () => {
    if (!stub) throw new Error("no stub outside a test");
    return stub;
  };
}
