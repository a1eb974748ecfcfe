// Applies migrations/ to the records database before each test file (already-applied ones are skipped);
// vitest.config.ts reads them and passes them in as the TEST_MIGRATIONS binding.
import { applyD1Migrations, type D1Migration, env } from "cloudflare:test";

const { TEST_MIGRATIONS } = env as unknown as { TEST_MIGRATIONS: D1Migration[] };
await applyD1Migrations(env.RECORDS_DB, TEST_MIGRATIONS);
