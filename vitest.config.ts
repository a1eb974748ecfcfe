import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd with the real wrangler.toml. Feeds and upstream point at a closed loopback port;
// tests stub fetch at the boundary, and anything they did not stub is answered 599 by outboundService below,
// so no request ever leaves the machine.
const TEST_BINDINGS = {
  UPSTREAM_BASE_URL: "http://127.0.0.1:9",
  MODELS_URL: "http://127.0.0.1:9/v1/models",
  UTILIZATION_URL: "http://127.0.0.1:9/chutes/utilization",
  // Rollout events go here; test/rollouts.test.ts answers it (docs/contract.md §18).
  ROLLOUT_WEBHOOK_URL: "http://127.0.0.1:9/rollout-webhook",
};

// The records database's schema (migrations/), applied by test/support/apply-migrations.ts before each file.
const migrations = await readD1Migrations("./migrations");

function workers(bindings: Record<string, string>) {
  return cloudflareTest({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      bindings: { ...TEST_BINDINGS, ...bindings, TEST_MIGRATIONS: migrations },
      // Records reach the consumer a moment after their request, not after the production batch wait.
      queueConsumers: { "chutes-autopilot-records": { maxBatchTimeout: 0.05 } },
      outboundService: (request: Request) =>
        new Response(`unstubbed request to ${request.url}`, { status: 599 }),
    },
  });
}

export default defineConfig({
  test: {
    // The router logs one JSON line per request; show console output only for failing tests.
    silent: "passed-only",
    projects: [
      {
        // Cron-only refresh, so no object's alarm fires in the background and races a test's stubs.
        // Short upstream timeouts keep the timeout rows of the failover table fast.
        plugins: [
          workers({
            // The location aggregator passes every report and view load straight through, so a test sees
            // the control plane's state as soon as the isolate's flush is done; the alarm project runs the
            // aggregation itself (test/alarm/location-aggregator.test.ts).
            AGGREGATOR_FORWARD_MS: "0",
            UTILIZATION_REFRESH_MS: "0",
            UPSTREAM_HEADER_TIMEOUT_MS: "300",
            UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "300",
            UPSTREAM_IDLE_TIMEOUT_MS: "300",
            // Direct mode's retries and resuming a broken stream are off here, so the failover table (§7) and
            // the after-commit rows keep one attempt each; test/direct-retry.test.ts and test/resume.test.ts
            // turn them on (docs/contract.md §19).
            DIRECT_RETRY_BUDGET_MS: "0",
            RESUME_MAX: "0",
          }),
        ],
        test: {
          name: "workers",
          setupFiles: ["./test/support/apply-migrations.ts"],
          include: ["test/**/*.test.ts", "src/**/*.test.ts"],
          exclude: ["test/alarm/**"],
        },
      },
      {
        // The alarm cadence itself, with the shipped 5 s refresh period.
        plugins: [workers({})],
        test: {
          name: "alarm",
          include: ["test/alarm/**/*.test.ts"],
          setupFiles: ["./test/support/apply-migrations.ts"],
        },
      },
    ],
  },
});
