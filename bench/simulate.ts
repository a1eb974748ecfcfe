// `npm run simulate`: how far the control plane scales, without and with the per-location aggregators
// (research/SCALE.md). Bundles the router with bench/simulate-entry.ts, runs it under plain Miniflare against
// the fake Chutes (for the feeds), and asks it to play M busy isolates for a few seconds each, with one
// model failing everywhere from half-time on: first straight to the one control-plane object (M = 10, 50,
// 200, 1,000: 20 outcome flushes and 1 view load a second each), then through L location aggregators (4
// digests and 1 view load a second each, up to 2,000 isolates over 300 locations). Prints both curves and
// writes logs/simulate/latest.{json,md} and research/SIMULATION.md.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { bundleWorker, startFakeProcess, startRouter, waitReady } from "./targets.ts";

const ISOLATES = (process.env.SIMULATE_ISOLATES ?? "10,50,200,1000").split(",").filter(Boolean).map(Number);
/** Isolates:locations pairs run through the aggregator tier. */
const TIERS = (process.env.SIMULATE_TIERS ?? "200:30,1000:150,2000:300")
  .split(",")
  .filter(Boolean)
  .map((pair) => pair.split(":").map(Number) as [number, number]);
const SECONDS = Number(process.env.SIMULATE_SECONDS ?? 4);

interface Row {
  isolates: number;
  locations: number;
  wantedPerSecond: number;
  controlPlaneCallsPerSecond: number;
  attemptedPerSecond: number;
  completedPerSecond: number;
  errors: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  breakerOpenDelayP50Ms: number | null;
  breakerOpenDelayMaxMs: number | null;
  isolatesThatSawTheBreaker: number;
  viewAgeP99Ms: number | null;
  viewAgeMaxMs: number | null;
}

const startedAt = Date.now();
const fake = await startFakeProcess();
const buildDir = await mkdtemp(join(tmpdir(), "autopilot-simulate-"));
try {
  console.log("bundling the router with the simulation entry …");
  const script = await bundleWorker("bench/simulate-entry.ts", join(buildDir, "simulate"));
  const router = await startRouter(script, fake.url);
  try {
    await waitReady(router.url);
    const rows: Row[] = [];
    const runs: Array<[number, number]> = [...ISOLATES.map((m): [number, number] => [m, 0]), ...TIERS];
    for (const [isolates, locations] of runs) {
      process.stdout.write(`${isolates} isolates, ${locations || "no"} aggregators, ${SECONDS} s … `);
      const query = `isolates=${isolates}&seconds=${SECONDS}&locations=${locations}`;
      const response = await fetch(`${router.url}/__simulate?${query}`, { method: "POST" });
      const row = (await response.json()) as Row;
      rows.push(row);
      console.log(`control plane ${row.controlPlaneCallsPerSecond.toFixed(0)} calls/s`);
      // Let the aggregators' alarms wind down before the next run.
      await new Promise((resolve) => setTimeout(resolve, 2500));
    }
    const markdown = render(rows);
    console.log(`\n${markdown}`);
    await mkdir("logs/simulate", { recursive: true });
    await writeFile("logs/simulate/latest.json", `${JSON.stringify(rows, null, 2)}\n`);
    await writeFile("logs/simulate/latest.md", markdown);
    await writeFile("research/SIMULATION.md", markdown);
    console.log("written: logs/simulate/latest.{json,md}, research/SIMULATION.md");
  } finally {
    await router.stop();
  }
} finally {
  await fake.stop();
  await rm(buildDir, { recursive: true, force: true });
}

function render(rows: Row[]): string {
  const ms = (value: number | null) => (value === null ? "–" : value.toFixed(0));
  const machine = `${cpus()[0]?.model.trim() ?? "unknown CPU"} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), Node ${process.version}`;
  return [
    "# Control-plane simulation: direct, and through per-location aggregators",
    "",
    `Measured ${new Date(startedAt).toISOString()} by \`npm run simulate\` in ${Math.round((Date.now() - startedAt) / 1000)} s on ${machine}.`,
    "",
    `M simulated busy isolates for ${SECONDS} s each; from half-time on every isolate reports failures of the best model. *Direct* (L = –): each isolate flushes 4 outcome reports to the one ControlPlane object every 50 ms and loads its view every second, as before the aggregator tier. *Through aggregators* (L locations, isolate i in location i mod L): each isolate sends a digest of its last 250 ms (20 reports) to its location's aggregator and loads its view from it every second; each aggregator forwards to the control plane once a second (AGGREGATOR_FORWARD_MS). The isolates run inside the same workerd as the objects (plain Miniflare), so they share this machine's two cores with them.`,
    "",
    "Columns: *wanted* is what M busy isolates would send to their first hop a second; *attempted* is what the simulated isolates managed to send, which falls short once this one workerd process is saturated (their timers run late); *completed* is what the first hop answered; *control plane* is the calls the ControlPlane object itself received a second; call latency at the first hop; *breaker open after*: from the moment failures start until an isolate's view shows the model's breaker open (p50, and max over all isolates, – when some never saw it within the run); *view age*: how long since each isolate last received a view, sampled every 100 ms.",
    "",
    "| isolates | locations | calls/s wanted | attempted | completed | control plane calls/s | latency p50 / p99 ms | breaker open after p50 / max ms | isolates that saw it | view age p99 / max ms | errors |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.isolates} | ${r.locations || "–"} | ${r.wantedPerSecond.toFixed(0)} | ${r.attemptedPerSecond.toFixed(0)} | ${r.completedPerSecond.toFixed(0)} | ${r.controlPlaneCallsPerSecond.toFixed(0)} | ${ms(r.latencyP50Ms)} / ${ms(r.latencyP99Ms)} | ${ms(r.breakerOpenDelayP50Ms)} / ${ms(r.breakerOpenDelayMaxMs)} | ${r.isolatesThatSawTheBreaker} / ${r.isolates} | ${ms(r.viewAgeP99Ms)} / ${ms(r.viewAgeMaxMs)} | ${r.errors} |`,
    ),
    "",
    "Reproduce: `npm install && npm run simulate` (`SIMULATE_ISOLATES=10,50`, `SIMULATE_TIERS=200:30,2000:300` and `SIMULATE_SECONDS=4` to change the run).",
    "",
  ].join("\n");
}
