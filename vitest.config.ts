import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd with the real wrangler.toml; only the feed and upstream URLs are pointed at
// hostnames that tests stub at the fetch boundary, so nothing ever leaves the machine.
export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          UPSTREAM_BASE_URL: "http://upstream.test",
          MODELS_URL: "http://feeds.test/v1/models",
          UTILIZATION_URL: "http://feeds.test/chutes/utilization",
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
  },
});
