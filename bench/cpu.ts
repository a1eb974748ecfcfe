// `npm run bench:cpu`: workerd CPU per request at c=16 (zero-delay profile: a whole answer in one chunk, a
// streamed one in 22), for the router in each mode against two floors: the bare passthrough Worker, whose
// body the runtime streams with no JavaScript, and the same Worker relaying the body through a JavaScript
// stream (bench/relay-worker.js), the least any Worker that must see an answer as it passes can do. A minute
// rather than `npm run bench`'s three, for iterating on the router's CPU cost. Each cell is the median of
// BENCH_RUNS rounds, the targets taking turns so drift on a shared machine hits them alike; differences
// are taken within each round.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { runLoad } from "./load.ts";
import { cpuMs, workerdChildren } from "./process-cpu.ts";
import { median } from "./stats.ts";
import { bundleWorker, startFakeProcess, startPassthrough, startRouter, waitReady } from "./targets.ts";

const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const REQUESTS = 800;
// Streamed requests from a single client per round, for time to first byte without contention.
const ALONE_REQUESTS = 200;
const MODEL = "fake/fast-model";
// A short prompt with one e-mail address, so the redacting router has something to replace.
const PROMPT = "Hello, please reply to jane.doe@example.com with a short greeting.";
const MODELS = {
  bare: MODEL,
  "bare-js-relay": MODEL,
  direct: MODEL,
  list: `${MODEL},fake/flaky-model`,
  alias: "chutesai/AutoPilot",
  "alias, recording off": "chutesai/AutoPilot",
  "alias, recording redacted": "chutesai/AutoPilot",
  "alias, redacted, no consumer": "chutesai/AutoPilot",
  "alias, resume off": "chutesai/AutoPilot",
};
type Name = keyof typeof MODELS;
type Kind = "whole" | "streamed";

const fake = await startFakeProcess();
const dir = await mkdtemp(join(tmpdir(), "autopilot-cpu-"));
try {
  await fake.admin("behavior", { model: MODEL, behavior: { kind: "healthy", chunks: 20, intervalMs: 0 } });
  const started: number[] = [...workerdChildren()];
  const newPids = () => {
    const pids = [...workerdChildren()].filter((pid) => !started.includes(pid));
    started.push(...pids);
    return pids;
  };
  const script = await bundleWorker("src/index.ts", dir);
  // The shipped RECORDING (metadata) serves direct, list and alias; two more routers show recording's cost.
  const router = await startRouter(script, fake.url);
  const routerPids = newPids();
  const unrecorded = await startRouter(script, fake.url, undefined, { RECORDING: "off" });
  const unrecordedPids = newPids();
  const redacted = await startRouter(script, fake.url, undefined, {
    RECORDING: "redacted",
    RECORDING_REDACTION_KEY: "bench-redaction-key",
  });
  const redactedPids = newPids();
  const enqueueOnly = await startRouter(
    script,
    fake.url,
    undefined,
    { RECORDING: "redacted", RECORDING_REDACTION_KEY: "bench-redaction-key" },
    { queueConsumer: false },
  );
  const enqueueOnlyPids = newPids();
  // Resuming broken streams (docs/contract.md §19) is on in the shipped config: this router shows its cost.
  const unresumed = await startRouter(script, fake.url, undefined, { RESUME_MAX: "0" });
  const unresumedPids = newPids();
  const bare = await startPassthrough(fake.url);
  const barePids = newPids();
  const relay = await startPassthrough(fake.url, "relay-worker.js");
  const relayPids = newPids();
  const targets: Record<Name, { url: string; pids: number[] }> = {
    bare: { url: bare.url, pids: barePids },
    "bare-js-relay": { url: relay.url, pids: relayPids },
    direct: { url: router.url, pids: routerPids },
    list: { url: router.url, pids: routerPids },
    alias: { url: router.url, pids: routerPids },
    "alias, recording off": { url: unrecorded.url, pids: unrecordedPids },
    "alias, recording redacted": { url: redacted.url, pids: redactedPids },
    "alias, redacted, no consumer": { url: enqueueOnly.url, pids: enqueueOnlyPids },
    "alias, resume off": { url: unresumed.url, pids: unresumedPids },
  };
  for (const target of [router, unrecorded, redacted, enqueueOnly, unresumed]) await waitReady(target.url);
  const cpu = (pids: number[]) => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const load = (name: Name, requests: number, stream: boolean, concurrency = 16) =>
    runLoad({
      url: `${targets[name].url}/v1/chat/completions`,
      concurrency,
      requests,
      stream,
      deadlineMs: 60_000,
      headers: (worker) => ({
        "content-type": "application/json",
        authorization: `Bearer cpk_cpu_${worker}`,
      }),
      body: () =>
        JSON.stringify({ model: MODELS[name], stream, messages: [{ role: "user", content: PROMPT }] }),
    });
  const names = Object.keys(MODELS) as Name[];
  for (const name of names) await load(name, 400, false);
  const ttfb = new Map<Name, number[]>(names.map((name) => [name, []]));
  const alone = new Map<Name, number[]>(names.map((name) => [name, []]));
  const samples = new Map<Name, Record<Kind, number[]>>(
    names.map((name) => [name, { whole: [], streamed: [] }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      for (const stream of [false, true]) {
        const start = cpu(targets[name].pids);
        const result = await load(name, REQUESTS, stream);
        if (result.failures > 0) console.log(`${name}: ${result.failures} failures`);
        const us = ((cpu(targets[name].pids) - start) * 1000) / result.completed;
        samples.get(name)?.[stream ? "streamed" : "whole"].push(us);
        if (stream) ttfb.get(name)?.push(median(result.ttfbMs));
        // One client alone: nothing else in flight competes with its first byte.
        if (stream) alone.get(name)?.push(median((await load(name, ALONE_REQUESTS, true, 1)).ttfbMs));
      }
    }
  }
  const of = (name: Name, kind: Kind) => samples.get(name)?.[kind] ?? [];
  /** The median of each round's difference from `floor`. */
  const over = (name: Name, floor: Name, kind: Kind) =>
    median(of(name, kind).map((us, round) => us - (of(floor, kind)[round] ?? Number.NaN)));
  const cell = (us: number, signed = false) => `${signed && us >= 0 ? "+" : ""}${Math.round(us)}`;
  const rows = names.map((name) => {
    const against = (floor: Name) =>
      name === "bare" || name === floor
        ? ["", ""]
        : [cell(over(name, floor, "whole"), true), cell(over(name, floor, "streamed"), true)];
    return [
      name,
      cell(median(of(name, "whole"))),
      cell(median(of(name, "streamed"))),
      ...against("bare"),
      ...against("bare-js-relay"),
      median(ttfb.get(name) ?? []).toFixed(1),
      median(alone.get(name) ?? []).toFixed(2),
    ];
  });
  const header = [
    "target",
    "whole",
    "streamed",
    "over bare: whole",
    "streamed",
    "over bare-js-relay: whole",
    "streamed",
    "TTFB p50 ms (streamed)",
    "TTFB p50 ms, c=1",
  ];
  const table = [header, header.map(() => "---"), ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");
  const markdown = `# CPU per request

Measured ${new Date().toISOString()} by \`npm run bench:cpu\` on ${cpus()[0]?.model ?? "unknown"} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), Node ${process.version}: workerd CPU time (user + system, from /proc) per request, in µs, at concurrency 16 against the fake Chutes' zero-delay profile: a whole answer is one chunk, a streamed one 22 (20 content chunks, the usage chunk, \`[DONE]\`). Time to first byte is the median over rounds of each round's p50: at c=16 (where every target is CPU-bound on this machine) and for one client alone (c=1, ${ALONE_REQUESTS} streamed requests a round). Median of ${ROUNDS} rounds; the differences are taken within each round.

\`bare\` is bench/passthrough-worker.js, whose body the runtime streams with no JavaScript; \`bare-js-relay\` is the same Worker relaying the body through a JavaScript stream, one chunk per pull and nothing else (bench/relay-worker.js), the least any Worker that must see an answer as it passes (to meter it, time out a stall, end a broken stream with an error event) can do. \`direct\`, \`list\` and \`alias\` are the router's modes with the shipped \`RECORDING=metadata\`; the two more \`alias\` rows are routers with recording off and with bodies redacted (docs/contract.md §17), the prompt carrying one e-mail address to replace. Recording's CPU includes the Queue consumer's writes to D1 and R2, which run off the request path in the same workerd as Miniflare's local Queue, D1 and R2 (deployed, those are Cloudflare services, not this Worker's CPU); \`no consumer\` is the redacting router with its Queue left unconsumed: what recording costs the request itself (capture, redaction, hashing, the enqueue). \`resume off\` is the shipped router with \`RESUME_MAX=0\`: the difference to \`alias\` is what watching every chat stream for a break costs (docs/contract.md §19).

${table}
`;
  await writeFile("research/CPU.md", markdown);
  console.log(markdown);
  await router.stop();
  await unrecorded.stop();
  await redacted.stop();
  await enqueueOnly.stop();
  await unresumed.stop();
  await bare.stop();
  await relay.stop();
} finally {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
}
