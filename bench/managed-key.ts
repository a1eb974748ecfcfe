// `npm run bench:keys`: the cost of a managed key, measured on its own. Two routers in workerd, the same bundle,
// one unmanaged and one with ADMIN_API_KEY and a key whose limits are never reached; both serve alias
// requests from one client at a time (c=1), taking turns in rounds so drift on this shared machine hits
// them alike. Prints p50 latency and workerd CPU per request for each, and the managed key's difference
// (issue target: ≤ 0.3 ms), plus how many key calls requests waited for, as the isolate counted them.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runLoad } from "./load.ts";
import { cpuMs, workerdChildren } from "./process-cpu.ts";
import { median, summarize } from "./stats.ts";
import { bundleWorker, startFakeProcess, startRouter, waitReady } from "./targets.ts";

const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const ADMIN = { ADMIN_API_KEY: "bench-admin-key", UPSTREAM_API_KEY: "cpk_bench_upstream" };

const fake = await startFakeProcess();
const dir = await mkdtemp(join(tmpdir(), "autopilot-keys-bench-"));
try {
  const script = await bundleWorker("bench/count-entry.ts", dir);
  const before = workerdChildren();
  const plain = await startRouter(script, fake.url);
  const plainPids = [...workerdChildren()].filter((pid) => !before.has(pid));
  const managed = await startRouter(script, fake.url, undefined, ADMIN);
  const managedPids = [...workerdChildren()].filter((pid) => !before.has(pid) && !plainPids.includes(pid));
  await Promise.all([waitReady(plain.url), waitReady(managed.url)]);
  const created = await fetch(`${managed.url}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN.ADMIN_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench", rpm: 1e6, tpm: 1e9, max_concurrency: 1000, budget_usd: 1e6 }),
  });
  const { key } = (await created.json()) as { key: string };
  const load = (url: string, authorization: string, requests: number) =>
    runLoad({
      url: `${url}/v1/chat/completions`,
      concurrency: 1,
      requests,
      stream: false,
      deadlineMs: 120_000,
      headers: () => ({ "content-type": "application/json", authorization: `Bearer ${authorization}` }),
      body: () =>
        JSON.stringify({ model: "chutesai/AutoPilot", messages: [{ role: "user", content: "Hello" }] }),
    });
  const targets = {
    unmanaged: { run: (n: number) => load(plain.url, "cpk_bench_client", n), pids: plainPids },
    managed: { run: (n: number) => load(managed.url, key, n), pids: managedPids },
  };
  for (const target of Object.values(targets)) await target.run(200); // warm-up: JIT, caches, lease
  const rounds: Record<string, Array<{ p50: number; cpuUs: number }>> = { unmanaged: [], managed: [] };
  const awaitedBefore = await awaitedCalls(managed.url);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, target] of Object.entries(targets)) {
      const cpuBefore = target.pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
      const result = await target.run(REQUESTS);
      const cpuUs =
        ((target.pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - cpuBefore) * 1000) / result.completed;
      rounds[name]?.push({ p50: summarize(result.latenciesMs).p50, cpuUs });
    }
    process.stdout.write(`round ${round + 1}/${ROUNDS}\n`);
  }
  const awaitedAfter = await awaitedCalls(managed.url);
  const med = (name: string, field: "p50" | "cpuUs") => median((rounds[name] ?? []).map((r) => r[field]));
  const dP50 = med("managed", "p50") - med("unmanaged", "p50");
  const dCpu = med("managed", "cpuUs") - med("unmanaged", "cpuUs");
  console.log(`\nalias at c=1, median of ${ROUNDS} rounds of ${REQUESTS} requests:`);
  console.log(
    `  unmanaged: p50 ${med("unmanaged", "p50").toFixed(3)} ms, workerd CPU ${med("unmanaged", "cpuUs").toFixed(0)} µs/request`,
  );
  console.log(
    `  managed:   p50 ${med("managed", "p50").toFixed(3)} ms, workerd CPU ${med("managed", "cpuUs").toFixed(0)} µs/request`,
  );
  console.log(
    `  difference: p50 ${dP50.toFixed(3)} ms (target ≤ 0.3 → ${dP50 <= 0.3 ? "met" : "missed"}), CPU ${dCpu.toFixed(0)} µs`,
  );
  const waited = Object.entries(awaitedAfter).map(([name, n]) => `${name} ${n - (awaitedBefore[name] ?? 0)}`);
  console.log(
    `  key calls requests waited for over ${ROUNDS * REQUESTS} measured requests: ${waited.join(", ")}`,
  );
  await Promise.all([plain.stop(), managed.stop()]);
} finally {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
}

async function awaitedCalls(url: string): Promise<Record<string, number>> {
  const counts = (await (await fetch(`${url}/__bench/do-calls`)).json()) as Record<string, number>;
  return Object.fromEntries(
    Object.entries(counts)
      .filter(([name]) => name.startsWith("awaited: "))
      .map(([name, n]) => [name.slice("awaited: ".length), n]),
  );
}
