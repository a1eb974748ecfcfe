// Starts what the benchmark measures, all on loopback: the fake Chutes in its own process, and the router
// and a bare passthrough Worker under plain Miniflare (wrangler's unstable_getMiniflareWorkerOptions turns
// wrangler.toml into its options), not `wrangler dev`, whose local proxy chain would hide the router's cost.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const ROOT = new URL("..", import.meta.url).pathname;
// The Miniflare that wrangler itself runs (a 5.x pre-release), so the options wrangler derives from
// wrangler.toml are in the shape it expects; the top-level copy belongs to the vitest plugin.
const require = createRequire(join(ROOT, "node_modules/wrangler/package.json"));
const { Miniflare, convertV4MiniflareOptions } = require("miniflare") as MiniflareModule;
// Its constructor takes a new options shape; wrangler.toml's options come in the v4 shape, which it converts.
interface MiniflareModule {
  Miniflare: new (
    options: unknown,
  ) => {
    ready: Promise<URL>;
    dispose(): Promise<void>;
    getD1Database(binding: string, worker?: string): Promise<RecordsDatabase>;
  };
  convertV4MiniflareOptions(options: unknown): unknown;
}

function createMiniflare(v4Options: Record<string, unknown>) {
  return new Miniflare(
    convertV4MiniflareOptions({
      ...v4Options,
      // The Worker's log lines are part of its cost inside workerd, but printing them here would add the
      // terminal's: take them and drop them.
      handleStructuredLogs() {},
    }),
  );
}
const QUIET_ENV = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_LOG: "error",
};

export interface FakeProcess {
  url: string;
  admin(path: string, body: unknown): Promise<void>;
  stop(): Promise<void>;
}

export async function startFakeProcess(catalogue: "fake" | "real" = "fake"): Promise<FakeProcess> {
  const args = [join(ROOT, "fake-chutes/cli.ts"), "--port", "0", "--catalogue", catalogue];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const lines = createInterface({ input: child.stdout });
  const [first] = (await once(lines, "line")) as [string];
  const { url } = JSON.parse(first) as { url: string };
  return {
    url,
    async admin(path, body) {
      const response = await fetch(`${url}/__admin/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`admin ${path}: ${response.status} ${await response.text()}`);
    },
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

/**
 * Bundles a Worker entry the way `wrangler deploy` would (offline, --dry-run) and returns the script path.
 * `readableNames` turns minification off, so a CPU profile names the router's own functions.
 */
export async function bundleWorker(entry: string, outdir: string, readableNames = false): Promise<string> {
  const args = [
    "deploy",
    entry,
    "--dry-run",
    "--outdir",
    outdir,
    ...(readableNames ? ["--minify=false"] : []),
  ];
  const child = spawn(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: QUIET_ENV,
  });
  const [code] = (await once(child, "exit")) as [number];
  if (code !== 0) throw new Error(`bundling ${entry} failed (${code})`);
  return join(outdir, `${basename(entry).replace(/\.tsx?$/, "")}.js`);
}

export interface Target {
  url: string;
  stop(): Promise<void>;
}

/** The router from wrangler.toml, bundled, with its feeds and upstream pointed at the fake. */
export async function startRouter(
  scriptPath: string,
  fakeUrl: string,
  inspectorPort?: number,
  extraBindings: Record<string, string> = {},
  { queueConsumer = true }: { queueConsumer?: boolean } = {},
): Promise<Target> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"));
  // Without its consumer the records Queue only takes messages: what recording costs the request itself.
  if (!queueConsumer) delete (workerOptions as { queueConsumers?: unknown }).queueConsumers;
  // The bundle is one module, so module rules do not apply; empty binding maps carry nothing.
  const options = Object.fromEntries(
    Object.entries(workerOptions).filter(
      ([key, value]) =>
        key !== "modulesRules" &&
        key !== "rootPath" &&
        !(Array.isArray(value) && value.length === 0) &&
        !(value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0),
    ),
  );
  const mf = createMiniflare({
    host: "127.0.0.1",
    port: 0,
    cf: false,
    ...(inspectorPort ? { inspectorPort } : {}),
    workers: [
      {
        ...options,
        name: "router",
        modules: true,
        scriptPath,
        modulesRoot: dirname(scriptPath),
        bindings: {
          ...(options.bindings as Record<string, string>),
          UPSTREAM_BASE_URL: fakeUrl,
          MODELS_URL: `${fakeUrl}/v1/models`,
          UTILIZATION_URL: `${fakeUrl}/chutes/utilization`,
          ...extraBindings,
        },
      },
    ],
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  await applyRecordsSchema(await mf.getD1Database("RECORDS_DB", "router"));
  return { url, stop: () => mf.dispose() };
}

/** The part of a D1 binding the schema needs. */
interface RecordsDatabase {
  prepare(sql: string): { run(): Promise<unknown> };
}

/** migrations/ on the router's records database, so its Queue consumer writes records as deployed. */
async function applyRecordsSchema(db: RecordsDatabase): Promise<void> {
  for (const file of (await readdir(join(ROOT, "migrations")))
    .filter((name) => name.endsWith(".sql"))
    .sort()) {
    const sql = (await readFile(join(ROOT, "migrations", file), "utf8"))
      .split("\n")
      .filter((line) => !line.trim().startsWith("--"))
      .join("\n");
    for (const statement of sql.split(";").map((part) => part.trim()))
      if (statement !== "") await db.prepare(statement).run();
  }
}

/** The bare passthrough Worker in the same runtime (or another floor Worker from bench/). */
export async function startPassthrough(fakeUrl: string, script = "passthrough-worker.js"): Promise<Target> {
  const mf = createMiniflare({
    host: "127.0.0.1",
    port: 0,
    cf: false,
    workers: [
      {
        name: "passthrough",
        modules: true,
        scriptPath: join(ROOT, "bench", script),
        modulesRoot: join(ROOT, "bench"),
        compatibilityDate: "2026-11-01",
        bindings: { UPSTREAM_BASE_URL: fakeUrl },
      },
    ],
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { url, stop: () => mf.dispose() };
}

export async function waitReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} not ready in ${timeoutMs} ms`);
}
