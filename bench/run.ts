// `npm run bench`: what the router costs. Against the fake Chutes on loopback, with a zero-delay profile and a
// realistic one (first byte after 50 ms, 20 chunks 5 ms apart), measures side by side: (a) the client calling
// the fake directly, (b) a bare passthrough Worker, (c) the router in direct, list and alias modes, (b) and (c)
// under plain Miniflare. Non-streaming latency p50/p90/p99 and streaming time to first byte p50/p99 at
// concurrency 1, 16 and 64, requests per second at 64, failures; each cell is the median of RUNS runs after a
// warm-up. Then counts the Durable Object calls per request in each mode with an instrumented build.
// Writes logs/bench/latest.json and latest.md, and research/BENCHMARKS.md.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { runLoad } from "./load.ts";
import { cpuMs, workerdChildren } from "./process-cpu.ts";
import { median, summarize } from "./stats.ts";
import {
  bundleWorker,
  startFakeProcess,
  startPassthrough,
  startRouter,
  type Target,
  waitReady,
} from "./targets.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Comma-separated profile names to run (default all), for quick iterations while profiling. */
const ONLY_PROFILES = process.env.BENCH_PROFILES?.split(",");
const CONCURRENCY = [1, 16, 64] as const;
const PROFILES = {
  "zero-delay": {
    behavior: { kind: "healthy", chunks: 20, intervalMs: 0 },
    requests: { 1: 200, 16: 800, 64: 1600 },
    warmup: 400,
  },
  realistic: {
    behavior: { kind: "healthy", chunks: 20, intervalMs: 5, firstByteDelayMs: 50 },
    requests: { 1: 12, 16: 96, 64: 384 },
    warmup: 160,
  },
} as const;
type ProfileName = keyof typeof PROFILES;
const MODEL = "fake/fast-model";
// BENCH_RECORDING=off|metadata|redacted|full runs the routers at that recording level (default: the shipped
// one, metadata), to set recording's cost beside the rest.
const RECORDING_BINDINGS: Record<string, string> = process.env.BENCH_RECORDING
  ? { RECORDING: process.env.BENCH_RECORDING, RECORDING_REDACTION_KEY: "bench-redaction-key" }
  : {};
const MANAGED_BINDINGS = {
  ADMIN_API_KEY: "bench-admin-key",
  UPSTREAM_API_KEY: "cpk_bench_upstream",
  ...RECORDING_BINDINGS,
};
const MODES = {
  direct: MODEL,
  list: `${MODEL},fake/flaky-model`,
  alias: "chutesai/AutoPilot",
} as const;

interface Cell {
  p50: number;
  p90: number;
  p99: number;
  ttfbP50: number;
  ttfbP99: number;
  rps: number;
  failures: number;
  /** workerd CPU time (user + system) per request, in microseconds; NaN for the direct target. */
  cpuUs: number;
}
type TargetName =
  | "a_direct_to_fake"
  | "b_passthrough_worker"
  | "c_router_direct"
  | "c_router_list"
  | "c_router_alias"
  | "d_router_alias_managed_key";

const startedAt = Date.now();
const fake = await startFakeProcess();
const buildDir = await mkdtemp(join(tmpdir(), "autopilot-bench-"));
const cleanups: Array<() => Promise<void>> = [
  () => fake.stop(),
  () => rm(buildDir, { recursive: true, force: true }),
];
const cleanup = async () => {
  for (const step of cleanups.reverse()) await step().catch(() => {});
};
process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));

try {
  console.log("bundling the router (wrangler deploy --dry-run) …");
  const routerScript = await bundleWorker("src/index.ts", join(buildDir, "router"));
  const countingScript = await bundleWorker("bench/count-entry.ts", join(buildDir, "counting"));
  const before = workerdChildren();
  const router = await startRouter(routerScript, fake.url, undefined, RECORDING_BINDINGS);
  cleanups.push(() => router.stop());
  const routerPids = [...workerdChildren()].filter((pid) => !before.has(pid));
  const passthrough = await startPassthrough(fake.url);
  cleanups.push(() => passthrough.stop());
  const passthroughPids = [...workerdChildren()].filter(
    (pid) => !before.has(pid) && !routerPids.includes(pid),
  );
  // The same router in managed mode, for one managed key with a budget and rate limits it never reaches.
  const managedRouter = await startRouter(routerScript, fake.url, undefined, MANAGED_BINDINGS);
  cleanups.push(() => managedRouter.stop());
  const managedPids = [...workerdChildren()].filter(
    (pid) => !before.has(pid) && !routerPids.includes(pid) && !passthroughPids.includes(pid),
  );
  const workerdCpuMs = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const pidsOf = (name: TargetName) =>
    name === "a_direct_to_fake"
      ? []
      : name === "b_passthrough_worker"
        ? passthroughPids
        : name === "d_router_alias_managed_key"
          ? managedPids
          : routerPids;
  await waitReady(router.url);
  await waitReady(managedRouter.url);
  const managedKey = await createBenchKey(managedRouter.url);

  const targets: Record<TargetName, BenchTarget> = {
    a_direct_to_fake: { base: fake.url, model: MODEL },
    b_passthrough_worker: { base: passthrough.url, model: MODEL },
    c_router_direct: { base: router.url, model: MODES.direct },
    c_router_list: { base: router.url, model: MODES.list },
    c_router_alias: { base: router.url, model: MODES.alias },
    d_router_alias_managed_key: { base: managedRouter.url, model: MODES.alias, key: managedKey },
  };

  const results: Record<string, Record<string, Record<number, Cell>>> = {};
  for (const [profileName, profile] of Object.entries(PROFILES) as Array<
    [ProfileName, (typeof PROFILES)[ProfileName]]
  >) {
    if (ONLY_PROFILES && !ONLY_PROFILES.includes(profileName)) continue;
    await fake.admin("behavior", { model: MODEL, behavior: profile.behavior });
    const entries = Object.entries(targets) as Array<[TargetName, (typeof targets)[TargetName]]>;
    process.stdout.write(`${profileName}: warm-up`);
    for (const [, target] of entries) await measure(target, 8, profile.warmup, false); // JIT, connections, caches
    // Targets take turns within each run and concurrency, so drift on this shared machine hits them alike.
    const runsByCell = new Map<string, Cell[]>();
    for (let run = 0; run < RUNS; run++) {
      for (const concurrency of CONCURRENCY) {
        for (const [targetName, target] of entries) {
          const requests = profile.requests[concurrency];
          const cpuBefore = workerdCpuMs(pidsOf(targetName));
          const whole = await measure(target, concurrency, requests, false);
          const streamed = await measure(target, concurrency, requests, true);
          const cpuPerRequestUs =
            ((workerdCpuMs(pidsOf(targetName)) - cpuBefore) * 1000) / (whole.completed + streamed.completed);
          const latency = summarize(whole.latenciesMs);
          const ttfb = summarize(streamed.ttfbMs);
          const key = `${targetName}@${concurrency}`;
          runsByCell.set(key, [
            ...(runsByCell.get(key) ?? []),
            {
              ...latency,
              ttfbP50: ttfb.p50,
              ttfbP99: ttfb.p99,
              rps: (whole.completed / whole.elapsedMs) * 1000,
              failures: whole.failures + streamed.failures,
              cpuUs: pidsOf(targetName).length > 0 ? cpuPerRequestUs : Number.NaN,
            },
          ]);
          for (const sample of [...whole.failureSamples, ...streamed.failureSamples].slice(0, 1)) {
            console.log(`\n  failure sample (${key}): ${sample}`);
          }
        }
      }
      process.stdout.write(` run ${run + 1}/${RUNS}`);
    }
    console.log();
    results[profileName] = Object.fromEntries(
      entries.map(([targetName]) => [
        targetName,
        Object.fromEntries(
          CONCURRENCY.map((concurrency) => [
            concurrency,
            medianCell(runsByCell.get(`${targetName}@${concurrency}`) ?? []),
          ]),
        ),
      ]),
    );
  }
  await fake.admin("reset", {});

  console.log("counting Durable Object calls per request (instrumented build) …");
  const doCalls = await countDurableObjectCalls(countingScript);

  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    runs: RUNS,
  };
  const report = {
    startedAt: new Date(startedAt).toISOString(),
    durationS: Math.round((Date.now() - startedAt) / 1000),
    machine,
    results,
    doCalls,
  };
  const markdown = renderMarkdown(report);
  await mkdir("logs/bench", { recursive: true });
  await writeFile("logs/bench/latest.json", `${JSON.stringify(report, null, 2)}\n`);
  await writeFile("logs/bench/latest.md", markdown);
  await writeFile("research/BENCHMARKS.md", markdown);
  console.log(`\n${markdown}`);
  console.log("written: logs/bench/latest.json, logs/bench/latest.md, research/BENCHMARKS.md");
} finally {
  await cleanup();
}

interface BenchTarget {
  base: string;
  model: string;
  /** A managed key every client sends, instead of a key of its own. */
  key?: string;
}

/** A managed key with every limit set, none of them reached by the benchmark. */
async function createBenchKey(base: string): Promise<string> {
  const response = await fetch(`${base}/admin/keys`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${MANAGED_BINDINGS.ADMIN_API_KEY}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      name: "bench",
      rpm: 1_000_000,
      tpm: 1_000_000_000,
      max_concurrency: 1000,
      budget_usd: 1_000_000,
      budget_period: "month",
    }),
  });
  if (response.status !== 201) throw new Error(`creating the bench key answered ${response.status}`);
  return ((await response.json()) as { key: string }).key;
}

async function measure(
  target: BenchTarget,
  concurrency: number,
  requests: number,
  stream: boolean,
  clientPrefix = "cpk_bench_client",
) {
  return runLoad({
    url: `${target.base}/v1/chat/completions`,
    concurrency,
    requests,
    stream,
    deadlineMs: 60_000,
    headers: (worker) => ({
      "content-type": "application/json",
      authorization: `Bearer ${target.key ?? `${clientPrefix}_${worker}`}`,
    }),
    body: () =>
      JSON.stringify({ model: target.model, stream, messages: [{ role: "user", content: "Hello" }] }),
  });
}

function medianCell(runs: Cell[]): Cell {
  const pick = (key: keyof Cell) => median(runs.map((run) => run[key]));
  return {
    p50: pick("p50"),
    p90: pick("p90"),
    p99: pick("p99"),
    ttfbP50: pick("ttfbP50"),
    ttfbP99: pick("ttfbP99"),
    rps: pick("rps"),
    failures: runs.reduce((sum, run) => sum + run.failures, 0),
    cpuUs: pick("cpuUs"),
  };
}

/** Calls per request, by object method, for each mode: 200 requests from 16 clients after a warm-up. */
async function countDurableObjectCalls(script: string) {
  const perMode: Record<string, Record<string, number>> = {};
  const counted: Target = await startRouter(script, fake.url);
  try {
    await waitReady(counted.url);
    const snapshot = async () =>
      (await (await fetch(`${counted.url}/__bench/do-calls`)).json()) as Record<string, number>;
    const perRequest = async (work: () => Promise<{ completed: number }>) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const before = await snapshot();
      const { completed } = await work();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const after = await snapshot();
      return Object.fromEntries(
        Object.keys(after).map((method) => [
          method,
          ((after[method] ?? 0) - (before[method] ?? 0)) / completed,
        ]),
      );
    };
    for (const [mode, model] of Object.entries(MODES)) {
      const target = { base: counted.url, model };
      await measure(target, 16, 64, false);
      // Warm: clients this isolate has seen. Cold: 16 new clients, one request each (sticky-cache misses).
      perMode[`${mode}, warm clients`] = await perRequest(() => measure(target, 16, 200, false));
      perMode[`${mode}, new clients`] = await perRequest(() =>
        measure(target, 16, 16, false, `cpk_new_${mode}`),
      );
    }
  } finally {
    await counted.stop();
  }
  // A managed key: which calls a request waited for (counted by the isolate) and which ran behind it.
  const managed: Target = await startRouter(script, fake.url, undefined, MANAGED_BINDINGS);
  try {
    await waitReady(managed.url);
    const key = await createBenchKey(managed.url);
    const target = { base: managed.url, model: MODES.alias, key };
    await measure(target, 16, 64, false);
    const snapshot = async () =>
      (await (await fetch(`${managed.url}/__bench/do-calls`)).json()) as Record<string, number>;
    for (const [label, concurrency] of [
      ["managed key, c=1", 1],
      ["managed key, c=16", 16],
    ] as const) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const before = await snapshot();
      const { completed } = await measure(target, concurrency, 200, false);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const after = await snapshot();
      perMode[`alias, ${label}`] = Object.fromEntries(
        Object.keys(after).map((method) => [
          method,
          ((after[method] ?? 0) - (before[method] ?? 0)) / completed,
        ]),
      );
    }
  } finally {
    await managed.stop();
  }
  return perMode;
}

function renderMarkdown(report: {
  startedAt: string;
  durationS: number;
  machine: Record<string, unknown>;
  results: Record<string, Record<string, Record<number, Cell>>>;
  doCalls: Record<string, Record<string, number>>;
}): string {
  const ms = (value: number) => (Number.isNaN(value) ? "–" : value.toFixed(2));
  const lines: string[] = [
    "# Benchmarks",
    "",
    `Measured ${report.startedAt} by \`npm run bench\` in ${report.durationS} s on ${report.machine.cpu} (${report.machine.cores} cores, ${report.machine.memoryGiB} GiB), Node ${report.machine.node}; the routers record at ${process.env.BENCH_RECORDING ?? "the shipped RECORDING (metadata)"}.`,
    `Every process on one machine over loopback: the load client and the fake Chutes (separate Node processes), and workerd (Miniflare) for (b) and (c). Each cell is the median of ${report.machine.runs} runs after a warm-up; latencies in milliseconds, client-side, full response; TTFB is time to the first body byte of a streamed request.`,
    "",
    "How to read it: the load client, the fake and workerd share two cores, so from c=16 on every target is CPU-bound and these cells measure contention as much as the router; run-to-run spread there is several milliseconds, larger than the +1 ms p50 target. The per-request cost shows at c=1 (router minus (b)) and as CPU per request in the c=64 throughput ratio.",
    "",
  ];
  for (const [profile, targets] of Object.entries(report.results)) {
    lines.push(`## ${profile} profile`, "");
    lines.push(
      "| target | c=1 p50 / p90 / p99 | c=16 p50 / p90 / p99 | c=64 p50 / p90 / p99 | TTFB c=1 p50 / p99 | TTFB c=16 p50 / p99 | TTFB c=64 p50 / p99 | req/s c=64 | failures |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const [name, cells] of Object.entries(targets)) {
      const c = (n: number) => cells[n] as Cell;
      lines.push(
        `| ${name} | ${ms(c(1).p50)} / ${ms(c(1).p90)} / ${ms(c(1).p99)} | ${ms(c(16).p50)} / ${ms(c(16).p90)} / ${ms(c(16).p99)} | ${ms(c(64).p50)} / ${ms(c(64).p90)} / ${ms(c(64).p99)} | ${ms(c(1).ttfbP50)} / ${ms(c(1).ttfbP99)} | ${ms(c(16).ttfbP50)} / ${ms(c(16).ttfbP99)} | ${ms(c(64).ttfbP50)} / ${ms(c(64).ttfbP99)} | ${c(64).rps.toFixed(0)} | ${[1, 16, 64].reduce((s, n) => s + c(n).failures, 0)} |`,
      );
    }
    const bare = targets.b_passthrough_worker as Record<number, Cell>;
    lines.push(
      "",
      "Router over the bare passthrough Worker (b), against the targets (c=16: +1 ms p50, +5 ms p99, +2 ms TTFB p50; c=64 throughput ≥ 90 %):",
      "",
    );
    lines.push(
      "| mode | Δ p50 c=16 | Δ p99 c=16 | Δ TTFB p50 c=16 | throughput c=64 vs (b) | targets |",
      "| --- | --- | --- | --- | --- | --- |",
    );
    for (const mode of ["direct", "list", "alias"]) {
      const cell = targets[`c_router_${mode}`] as Record<number, Cell>;
      const dP50 = (cell[16] as Cell).p50 - (bare[16] as Cell).p50;
      const dP99 = (cell[16] as Cell).p99 - (bare[16] as Cell).p99;
      const dTtfb = (cell[16] as Cell).ttfbP50 - (bare[16] as Cell).ttfbP50;
      const ratio = (cell[64] as Cell).rps / (bare[64] as Cell).rps;
      const met = dP50 <= 1 && dP99 <= 5 && dTtfb <= 2 && ratio >= 0.9;
      lines.push(
        `| ${mode} | ${dP50.toFixed(2)} | ${dP99.toFixed(2)} | ${dTtfb.toFixed(2)} | ${(ratio * 100).toFixed(0)} % | ${met ? "met" : "missed"} |`,
      );
    }
    lines.push(
      "",
      "workerd CPU time per request (user + system, µs, from /proc over each cell's whole and streamed runs; the router's process also does its background work: refresh alarms, report flushes):",
      "",
      "| target | c=1 | c=16 | c=64 | over (b) at c=16 |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const [name, cells] of Object.entries(targets)) {
      if (name === "a_direct_to_fake") continue;
      const us = (n: number) => (cells[n] as Cell).cpuUs;
      const over = name === "b_passthrough_worker" ? "–" : (us(16) - (bare[16] as Cell).cpuUs).toFixed(0);
      lines.push(`| ${name} | ${us(1).toFixed(0)} | ${us(16).toFixed(0)} | ${us(64).toFixed(0)} | ${over} |`);
    }
    const alias = targets.c_router_alias as Record<number, Cell>;
    const managed = targets.d_router_alias_managed_key as Record<number, Cell> | undefined;
    if (managed) {
      const dP50 = (managed[1] as Cell).p50 - (alias[1] as Cell).p50;
      const dCpu = (managed[1] as Cell).cpuUs - (alias[1] as Cell).cpuUs;
      lines.push(
        "",
        `A managed key (d) over the same request without one (c alias), at c=1 (target: ≤ 0.3 ms): Δ p50 ${dP50.toFixed(2)} ms, Δ workerd CPU ${dCpu.toFixed(0)} µs per request → ${dP50 <= 0.3 ? "met" : "missed"}.`,
      );
    }
    lines.push("");
  }
  lines.push("## Durable Object calls per request", "");
  lines.push(
    "Counted by an instrumented build (bench/count-entry.ts): per mode, 200 requests from 16 clients the isolate already knows, then one request each from 16 new clients. `StickyShard.lookup` is the only call a request waits for (a sticky-cache miss, alias and list modes only); `LocationAggregator.getView` would run behind the request (the batched reports' answers keep the view fresh); `LocationAggregator.report` and `StickyShard.apply` are the batched reports, under `waitUntil`, and the `ControlPlane` calls are the aggregator's forwards, once a second. `awaited:` rows are the managed-key calls a request waited for, as the isolate counted them.",
    "",
    "| mode | calls per request, by method |",
    "| --- | --- |",
  );
  for (const [mode, calls] of Object.entries(report.doCalls)) {
    const parts = Object.entries(calls)
      .filter(([, n]) => n > 0)
      .map(([method, n]) => `${method} ${n.toFixed(3)}`);
    lines.push(`| ${mode} | ${parts.length ? parts.join(", ") : "none"} |`);
  }
  lines.push(
    "",
    "Reproduce: `npm install && npm run bench` (set `BENCH_RUNS` to change the number of runs).",
    "",
  );
  return lines.join("\n");
}
