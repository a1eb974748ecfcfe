// `npm run simulate`: how far the one control-plane object scales (issue 13's first question). Bundles the
// router with bench/simulate-entry.ts, runs it under plain Miniflare against the fake Chutes (for the feeds),
// and asks it to play M = 10, 50, 200 and 1,000 busy isolates for a few seconds each: their outcome flushes
// (20 a second) and view loads (1 a second) against the real object, with one model failing everywhere from
// half-time on. Prints the curve and writes logs/simulate/latest.{json,md} and research/SIMULATION.md.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { bundleWorker, startFakeProcess, startRouter, waitReady } from "./targets.ts";

const ISOLATES = (process.env.SIMULATE_ISOLATES ?? "10,50,200,1000").split(",").map(Number);
const SECONDS = Number(process.env.SIMULATE_SECONDS ?? 4);
/** A busy isolate's calls to the object per second: 20 outcome flushes and 1 view load. */
const WANTED_CALLS_PER_ISOLATE = 21;

interface Row {
  isolates: number;
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
    for (const isolates of ISOLATES) {
      process.stdout.write(`${isolates} isolates for ${SECONDS} s … `);
      const response = await fetch(`${router.url}/__simulate?isolates=${isolates}&seconds=${SECONDS}`, {
        method: "POST",
      });
      const row = (await response.json()) as Row;
      rows.push(row);
      console.log(`${row.completedPerSecond.toFixed(0)} calls/s`);
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
    "# Control-plane simulation",
    "",
    `Measured ${new Date(startedAt).toISOString()} by \`npm run simulate\` in ${Math.round((Date.now() - startedAt) / 1000)} s on ${machine}.`,
    "",
    `M simulated busy isolates, each flushing outcome reports (4 per flush) to the one ControlPlane object every 50 ms and loading its view every second, for ${SECONDS} s; from half-time on every isolate reports failures of the best model. The isolates run inside the same workerd as the object (plain Miniflare), so they share this machine's CPU with it.`,
    "",
    "Columns: *wanted* is what M busy isolates would send (21 calls a second each); *attempted* is what the simulated isolates managed to send, which falls short once this one workerd process is saturated (their timers run late); *completed* is what the object answered; call latency; *breaker open after*: from the moment failures start until an isolate's view shows the model's breaker open (p50, and max over all isolates, – when some never saw it within the run); *view age*: how long since each isolate last received a view, sampled every 100 ms.",
    "",
    "| isolates | calls/s wanted | calls/s attempted | calls/s completed | latency p50 / p99 ms | breaker open after p50 / max ms | isolates that saw it | view age p99 / max ms | errors |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.isolates} | ${r.isolates * WANTED_CALLS_PER_ISOLATE} | ${r.attemptedPerSecond.toFixed(0)} | ${r.completedPerSecond.toFixed(0)} | ${ms(r.latencyP50Ms)} / ${ms(r.latencyP99Ms)} | ${ms(r.breakerOpenDelayP50Ms)} / ${ms(r.breakerOpenDelayMaxMs)} | ${r.isolatesThatSawTheBreaker} / ${r.isolates} | ${ms(r.viewAgeP99Ms)} / ${ms(r.viewAgeMaxMs)} | ${r.errors} |`,
    ),
    "",
    "Reproduce: `npm install && npm run simulate` (`SIMULATE_ISOLATES=10,50` and `SIMULATE_SECONDS=4` to change the run).",
    "",
  ].join("\n");
}
