// Worker entry: the Hono app for requests, the cron trigger for snapshot refreshes and record retention, the
// Queue consumer that stores records, and the Durable Objects.
import { app } from "./app.ts";
import { readConfig } from "./config.ts";
import { controlPlaneStub } from "./state/control-plane.ts";
import { consumeRecords, enforceRetention, type QueuedRecord } from "./state/records-store.ts";

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
    const config = readConfig(env);
    if (config.ok)
      ctx.waitUntil(
        enforceRetention(env, config.config.recording.retentionDays, Date.now()).then(
          (erased) => console.log(JSON.stringify({ event: "record_retention", ...erased })),
          (error: unknown) =>
            console.warn(
              JSON.stringify({
                event: "record_retention_failed",
                message: String((error as Error)?.message),
              }),
            ),
        ),
      );
  },
  async queue(batch, env, _ctx?: ExecutionContext) {
    await consumeRecords(batch as MessageBatch<QueuedRecord>, env);
  },
} satisfies ExportedHandler<Env>;
