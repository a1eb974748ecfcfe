// Starts the fake Chutes and the router under `wrangler dev` on loopback, wired together, and stops both.
// Used by `npm run demo` and `npm run smoke`. Nothing here reaches the network: the router's feeds and
// upstream are the fake, wrangler's Request.cf download and telemetry are switched off.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type FakeChutes, startFakeChutes } from "../fake-chutes/server.ts";
import { freePort } from "./ports.ts";

export interface StackOptions {
  /** Extra or overriding Worker vars (strings, as `--var NAME:VALUE`). */
  vars?: Record<string, string>;
  /** An already running fake to use (a second router instance shares it). */
  fake?: FakeChutes;
  /** Router port; default any free port. */
  port?: number;
  /** How long to wait for /readyz; default 60 s. */
  readyTimeoutMs?: number;
}

export interface Stack {
  routerUrl: string;
  fake: FakeChutes;
  /** Runs a read-only SQL query on the local records database (D1), as `wrangler d1 execute` does. */
  queryRecords(sql: string): Promise<Array<Record<string, unknown>>>;
  /** What wrangler printed, for diagnostics. */
  output(): string;
  stop(): Promise<void>;
}

const PROJECT_ROOT = new URL("..", import.meta.url).pathname;
// wrangler's package exports do not include its bin, so resolve the package and go from there.
const WRANGLER_BIN = join(
  dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin",
  "wrangler.js",
);

/** No network from wrangler: no Request.cf download, no telemetry, no update check. */
const WRANGLER_ENV = {
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  NO_UPDATE_NOTIFIER: "1",
  FORCE_COLOR: "0",
};

/** Vars that point the router at the fake and keep managed mode off unless asked for. */
export function fakeVars(fake: FakeChutes): Record<string, string> {
  return {
    UPSTREAM_BASE_URL: fake.url,
    MODELS_URL: `${fake.url}/v1/models`,
    UTILIZATION_URL: `${fake.url}/chutes/utilization`,
    ROUTER_API_KEYS: "",
    UPSTREAM_API_KEY: "",
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const ownsFake = !options.fake;
  const fake = options.fake ?? (await startFakeChutes());
  const port = options.port ?? (await freePort());
  const inspectorPort = await freePort();
  const persistDir = await mkdtemp(join(tmpdir(), "autopilot-state-"));
  await applyMigrations(persistDir);
  const vars = { ...fakeVars(fake), ...options.vars };
  const args = [
    WRANGLER_BIN,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistDir,
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...WRANGLER_ENV },
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  const routerUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await killGroup(child);
    await rm(persistDir, { recursive: true, force: true });
    if (ownsFake) await fake.close();
  };
  try {
    await waitForReady(routerUrl, child, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- wrangler output ---\n${output}`,
    );
  }
  const queryRecords = async (sql: string) => {
    const printed = await runWrangler([
      "d1",
      "execute",
      "RECORDS_DB",
      "--local",
      "--persist-to",
      persistDir,
      "--json",
      "--command",
      sql,
    ]);
    return (JSON.parse(printed) as Array<{ results: Array<Record<string, unknown>> }>)[0]?.results ?? [];
  };
  return { routerUrl, fake, queryRecords, output: () => output, stop };
}

/** The records database's schema (migrations/), applied to the local state `wrangler dev` will use. */
async function applyMigrations(persistDir: string): Promise<void> {
  await runWrangler(["d1", "migrations", "apply", "RECORDS_DB", "--local", "--persist-to", persistDir]);
}

/** Runs a one-off wrangler command without prompts; its standard output, or a thrown error with all it said. */
async function runWrangler(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [WRANGLER_BIN, ...args], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...WRANGLER_ENV, CI: "true" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0)
    throw new Error(`wrangler ${args.slice(0, 2).join(" ")} failed (${code}):\n${stdout}${stderr}`);
  return stdout;
}

async function waitForReady(routerUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${routerUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      last = `${response.status} ${await response.text()}`;
      if (response.status === 200) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`router not ready within ${timeoutMs} ms (last /readyz: ${last})`);
}

/** Ends wrangler and the workerd it started (its whole process group), forcefully if it lingers. */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), name);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}
