// Worker entry: the Hono app for requests, the cron trigger for snapshot refreshes, and the Durable Objects.
import { app } from "./app.ts";
import { controlPlaneStub } from "./state/control-plane.ts";

export { ControlPlane } from "./state/control-plane.ts";
export { KeyDirectory, KeyLedger } from "./state/key-objects.ts";
export { LocationAggregator } from "./state/location-aggregator.ts";
export { StickyShard } from "./state/sticky-shard.ts";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      controlPlaneStub(env)
        .refreshNow()
        .then((report) => console.log(JSON.stringify({ event: "cron_refresh", ...report }))),
    );
  },
} satisfies ExportedHandler<Env>;
