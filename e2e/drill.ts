// `npm run drill`: an outage drill (docs/contract.md §13). The router runs under `wrangler dev` against the
// fake Chutes, as in the smoke suite. A dozen sticky clients stream through the alias in a closed loop, with a
// newcomer (a fresh key each time) every NEWCOMER_EVERY_MS so recovered models get probed. In phases, the model
// serving most clients returns 503, overload 429, no first byte, breaks after the first chunk, stalls after the
// first chunk, and answers 10× slower, each followed by a recovery phase. The feeds never react, as real
// outages outrun them. Runs once with hedging off and once with HEDGE_AFTER_MS set; prints a table per run
// and writes research/DRILL.md. Loopback only; every loop is bounded in time.

import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import type { Behavior } from "../fake-chutes/behaviors.ts";
import { DEFAULT_RANKING } from "../fake-chutes/catalogue.ts";
import { type Stack, startStack } from "./stack.ts";

const CLIENTS = 12;
const NEWCOMER_EVERY_MS = 250;
const BASELINE_MS = 5000;
const FAULT_MS = 5000;
const RECOVERY_MS = 5000;
const HEALTHY: Behavior = { kind: "healthy", chunks: 4, intervalMs: 5, firstByteDelayMs: 40 };
/** What every model answers (the fake's chunks), so a client can check it got the whole answer once, in order. */
const EXPECTED_TEXT = "chunk 0 chunk 1 chunk 2 chunk 3 ";
const HEDGE_AFTER_MS = 150;
/** Short timeouts and a low SLOW_MODEL_MIN_MS so each phase shows its effect within seconds. */
const ROUTER_VARS = {
  UPSTREAM_HEADER_TIMEOUT_MS: "1000",
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "1000",
  UPSTREAM_IDLE_TIMEOUT_MS: "500",
  BREAKER_FAILURE_THRESHOLD: "3",
  BREAKER_COOLDOWN_MS: "4000",
  SLOW_MODEL_FACTOR: "4",
  SLOW_MODEL_MIN_MS: "300",
  UTILIZATION_REFRESH_MS: "1000",
};

const FAULTS: Array<{ name: string; behavior: Behavior; afterCommit: boolean }> = [
  { name: "503", behavior: { kind: "status", status: 503 }, afterCommit: false },
  { name: "overload 429", behavior: { kind: "overloaded" }, afterCommit: false },
  { name: "no first byte", behavior: { kind: "slow_first_byte", delayMs: 5000 }, afterCommit: false },
  {
    name: "breaks after first chunk",
    behavior: { kind: "reset_mid_stream", afterChunks: 1 },
    afterCommit: true,
  },
  {
    name: "stalls after first chunk",
    behavior: { kind: "stall_mid_stream", afterChunks: 1 },
    afterCommit: true,
  },
  { name: "10x slower", behavior: { ...HEALTHY, firstByteDelayMs: 400 }, afterCommit: false },
];

interface Sample {
  client: string;
  startedMs: number;
  /**
   * When the answer ended. A request counts in the phase it ended in: one sent just before a fault began can
   * still meet it, since the router takes a few milliseconds to pass it on.
   */
  endedMs: number;
  status: number;
  selected: string | null;
  ttftMs: number | null;
  /** `garbled`: the stream ended as answers end, but its text is not the whole answer once, in order. */
  outcome: "ok" | "before_commit" | "after_commit" | "garbled";
}

interface PhaseRow {
  phase: string;
  target: string;
  /** Sticky clients whose last answer before the phase came from its model. */
  onAtOnset: number;
  requests: number;
  successPct: number;
  brokenAfterCommit: number;
  failedBeforeCommit: number;
  /** Streams that broke mid-answer and went on in a continuation (the fake's continuation requests). */
  resumed: number;
  garbled: number;
  ttftP50: number | null;
  ttftP95: number | null;
  movesMax: number;
  movesMean: number;
  targetServed: number;
  hedges: string;
}

/** One streamed alias request, read to its end. */
async function streamOnce(routerUrl: string, client: string): Promise<Sample> {
  const startedMs = performance.now();
  const sample: Sample = {
    client,
    startedMs,
    endedMs: startedMs,
    status: 0,
    selected: null,
    ttftMs: null,
    outcome: "before_commit",
  };
  try {
    const response = await fetch(`${routerUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${client}` },
      body: JSON.stringify({
        model: "chutesai/AutoPilot",
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      }),
      signal: AbortSignal.timeout(10_000),
    });
    sample.status = response.status;
    sample.selected = response.headers.get("x-chutes-autopilot-selected");
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      return sample;
    }
    sample.outcome = "after_commit";
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of response.body) {
      text += decoder.decode(chunk, { stream: true });
      if (sample.ttftMs === null && text.includes('"content"')) sample.ttftMs = performance.now() - startedMs;
    }
    if (text.includes("data: [DONE]") && !text.includes("upstream_stream_error"))
      sample.outcome = contentOf(text) === EXPECTED_TEXT ? "ok" : "garbled";
  } catch {
    // A body that breaks mid-read is a failure after commit; one that never started stays before_commit.
  }
  sample.endedMs = performance.now();
  return sample;
}

/** The content deltas of an SSE chat stream, joined. */
function contentOf(text: string): string {
  let content = "";
  for (const line of text.split("\n")) {
    if (!line.startsWith("data: {")) continue;
    const chunk = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> };
    content += chunk.choices?.[0]?.delta?.content ?? "";
  }
  return content;
}

/** Runs the sticky clients and the newcomers until `stopAtMs`, collecting every sample. */
async function drive(routerUrl: string, runId: string, samples: Sample[], stopAtMs: number): Promise<void> {
  const loops = Array.from({ length: CLIENTS }, async (_, index) => {
    const client = `cpk_drill_${runId}_client_${index}`;
    while (performance.now() < stopAtMs) samples.push(await streamOnce(routerUrl, client));
  });
  let newcomers = 0;
  const arrivals = (async () => {
    const pending: Promise<void>[] = [];
    while (performance.now() < stopAtMs) {
      newcomers += 1;
      const client = `cpk_drill_${runId}_newcomer_${newcomers}`;
      pending.push(streamOnce(routerUrl, client).then((sample) => void samples.push(sample)));
      await new Promise((resolve) => setTimeout(resolve, NEWCOMER_EVERY_MS));
    }
    await Promise.all(pending);
  })();
  await Promise.all([...loops, arrivals]);
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Each sticky client's model as of `atMs`: the model of its last answer that started before then. */
function modelsAt(samples: Sample[], atMs: number): Map<string, string> {
  const models = new Map<string, string>();
  for (const sample of samples) {
    if (sample.endedMs < atMs && sample.selected !== null && isSticky(sample)) {
      models.set(sample.client, sample.selected);
    }
  }
  return models;
}

function isSticky(sample: Sample): boolean {
  return sample.client.includes("_client_");
}

/** The model most sticky clients were on in the last second. */
function busiestModel(samples: Sample[], nowMs: number): string {
  const counts = new Map<string, number>();
  for (const sample of samples) {
    if (sample.endedMs < nowMs - 1000 || sample.selected === null || !isSticky(sample)) continue;
    counts.set(sample.selected, (counts.get(sample.selected) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? (DEFAULT_RANKING[0] as string);
}

/** routed_total summed over statuses. */
async function routedTotal(routerUrl: string): Promise<number> {
  const text = await (await fetch(`${routerUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^chutes_autopilot_routed_total\{[^}]*\} (\d+)$/gm))
    total += Number(match[1]);
  return total;
}

/**
 * Records written against requests routed (docs/contract.md §17: nothing lost). The Queue's consumer writes a
 * moment after the requests, and the counters reach /metrics within a flush: waits until both are steady.
 */
async function recordAccounting(stack: Stack): Promise<{ records: number; routed: number }> {
  const deadline = performance.now() + 60_000;
  let last = { records: -1, routed: -1 };
  for (;;) {
    const [row] = await stack.queryRecords("SELECT COUNT(*) AS n FROM records");
    const now = { records: Number(row?.n ?? 0), routed: await routedTotal(stack.routerUrl) };
    const steady = now.records === last.records && now.routed === last.routed;
    if ((steady && now.records === now.routed) || performance.now() > deadline) return now;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function hedgeCounts(routerUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${routerUrl}/metrics`)).text();
  const counts: Record<string, number> = { won: 0, lost: 0 };
  for (const match of text.matchAll(/^chutes_autopilot_hedges_total\{result="(\w+)"\} (\d+)$/gm)) {
    counts[match[1] as string] = Number(match[2]);
  }
  return counts;
}

function summarize(
  phase: string,
  target: string,
  samples: Sample[],
  before: Map<string, string>,
  hedges: { won: number; lost: number },
  resumed: number,
): PhaseRow {
  const ok = samples.filter((s) => s.outcome === "ok");
  const ttfts = ok.map((s) => s.ttftMs).filter((ms): ms is number => ms !== null);
  const sticky = samples.filter(isSticky);
  const moves = new Map<string, number>();
  const last = new Map<string, string | null>(before);
  for (const sample of sticky) {
    const previous = last.get(sample.client);
    if (
      previous !== undefined &&
      previous !== null &&
      sample.selected !== null &&
      sample.selected !== previous
    ) {
      moves.set(sample.client, (moves.get(sample.client) ?? 0) + 1);
    }
    if (sample.selected !== null) last.set(sample.client, sample.selected);
  }
  const moveCounts = [...new Set(sticky.map((s) => s.client))].map((client) => moves.get(client) ?? 0);
  return {
    phase,
    target,
    onAtOnset: [...before.values()].filter((model) => model === target).length,
    requests: samples.length,
    successPct: samples.length === 0 ? 100 : (100 * ok.length) / samples.length,
    brokenAfterCommit: samples.filter((s) => s.outcome === "after_commit").length,
    failedBeforeCommit: samples.filter((s) => s.outcome === "before_commit").length,
    resumed,
    garbled: samples.filter((s) => s.outcome === "garbled").length,
    ttftP50: percentile(ttfts, 50),
    ttftP95: percentile(ttfts, 95),
    movesMax: Math.max(0, ...moveCounts),
    movesMean: moveCounts.length === 0 ? 0 : moveCounts.reduce((a, b) => a + b, 0) / moveCounts.length,
    targetServed: samples.filter((s) => s.selected === target && s.outcome === "ok").length,
    hedges: `${hedges.won} won / ${hedges.lost} lost`,
  };
}

async function runDrill(hedgeAfterMs: number): Promise<{
  rows: PhaseRow[];
  total: PhaseRow;
  samples: Sample[];
  accounting: { records: number; routed: number };
}> {
  const runId = hedgeAfterMs > 0 ? "hedged" : "plain";
  const stack: Stack = await startStack({ vars: { ...ROUTER_VARS, HEDGE_AFTER_MS: String(hedgeAfterMs) } });
  try {
    for (const model of DEFAULT_RANKING) stack.fake.setBehavior(model, HEALTHY);
    const samples: Sample[] = [];
    const phases: Array<{
      name: string;
      target: string;
      startMs: number;
      endMs: number;
      hedges: Record<string, number>;
    }> = [];
    const startMs = performance.now();
    const totalMs = BASELINE_MS + FAULTS.length * (FAULT_MS + RECOVERY_MS);
    const driving = drive(stack.routerUrl, runId, samples, startMs + totalMs);
    let at = startMs;
    // Each phase starts the moment the fake's behaviour changes, so no request is counted in the wrong phase.
    const phase = async (name: string, target: string, durationMs: number, apply: () => void) => {
      const hedges = await hedgeCounts(stack.routerUrl);
      apply();
      const phaseStartMs = performance.now();
      phases.push({ name, target, startMs: phaseStartMs, endMs: Number.POSITIVE_INFINITY, hedges });
      const previous = phases.at(-2);
      if (previous) previous.endMs = phaseStartMs;
      at += durationMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));
    };
    await phase("baseline", "-", BASELINE_MS, () => {});
    for (const fault of FAULTS) {
      const target = busiestModel(samples, performance.now());
      await phase(fault.name, target, FAULT_MS, () => stack.fake.setBehavior(target, fault.behavior));
      await phase("recovery", target, RECOVERY_MS, () => stack.fake.setBehavior(target, HEALTHY));
    }
    await driving;
    const end = await hedgeCounts(stack.routerUrl);
    // When the fake received each continuation request (epoch ms, as the phases' bounds are made below).
    const continuations = stack.fake
      .requests()
      .filter((entry) => entry.body.includes('"continue_final_message":true'))
      .map((entry) => entry.startedAt - performance.timeOrigin);
    const resumedIn = (fromMs: number, toMs: number) =>
      continuations.filter((ms) => ms >= fromMs && ms < toMs).length;
    const rows = phases.map((p, index) => {
      const next = phases[index + 1]?.hedges ?? end;
      const inPhase = samples.filter((s) => s.endedMs >= p.startMs && s.endedMs < p.endMs);
      const hedged = {
        won: (next.won ?? 0) - (p.hedges.won ?? 0),
        lost: (next.lost ?? 0) - (p.hedges.lost ?? 0),
      };
      return summarize(
        p.name,
        p.target,
        inPhase,
        modelsAt(samples, p.startMs),
        hedged,
        resumedIn(p.startMs, p.endMs),
      );
    });
    const total = summarize(
      "all phases",
      "-",
      samples,
      new Map(),
      { won: end.won ?? 0, lost: end.lost ?? 0 },
      continuations.length,
    );
    const accounting = await recordAccounting(stack);
    return { rows, total, samples, accounting };
  } finally {
    await stack.stop();
  }
}

function fmt(ms: number | null): string {
  return ms === null ? "-" : ms.toFixed(0);
}

function table(rows: PhaseRow[]): string {
  const header =
    "| phase | model | clients on it at onset | requests | success | broken after commit | resumed | garbled | failed before commit | TTFT p50 / p95 ms | moves per client (max / mean) | served by that model | hedges |";
  const lines = [header, `|${" --- |".repeat(13)}`];
  for (const r of rows) {
    lines.push(
      `| ${r.phase} | ${r.target} | ${r.target === "-" ? "-" : r.onAtOnset} | ${r.requests} | ${r.successPct.toFixed(2)} % | ${r.brokenAfterCommit} | ${r.resumed} | ${r.garbled} | ${r.failedBeforeCommit} | ${fmt(r.ttftP50)} / ${fmt(r.ttftP95)} | ${r.movesMax} / ${r.movesMean.toFixed(2)} | ${r.targetServed} | ${r.hedges} |`,
    );
  }
  return lines.join("\n");
}

const started = Date.now();
const results = [];
// DRILL_HEDGE_AFTER_MS=150 runs that one setting only, for a quick look (research/DRILL.md is then left alone).
const settings = process.env.DRILL_HEDGE_AFTER_MS
  ? [Number(process.env.DRILL_HEDGE_AFTER_MS)]
  : [0, HEDGE_AFTER_MS];
for (const hedgeAfterMs of settings) {
  console.log(`drill: HEDGE_AFTER_MS=${hedgeAfterMs} …`);
  const { rows, total, samples, accounting } = await runDrill(hedgeAfterMs);
  await mkdir("logs/drill", { recursive: true });
  await writeFile(`logs/drill/samples-hedge-${hedgeAfterMs}.json`, JSON.stringify(samples));
  const recordsLine = `Records (RECORDING=metadata): ${accounting.records} written for ${accounting.routed} requests routed (routed_total), ${samples.length} sent by the clients.`;
  const text = `${table([...rows, total])}\n\n${recordsLine}`;
  console.log(`\n${text}\n`);
  results.push({ hedgeAfterMs, text, total });
}
const machine = `${cpus()[0]?.model.trim() ?? "unknown CPU"} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), Node ${process.version}`;
const doc = [
  "# Outage drill",
  "",
  `Measured ${new Date().toISOString()} by \`npm run drill\` in ${Math.round((Date.now() - started) / 1000)} s on ${machine}.`,
  "",
  `The router under \`wrangler dev\` against the fake Chutes, on loopback. ${CLIENTS} sticky clients stream through`,
  `\`chutesai/AutoPilot\` in a closed loop, plus a newcomer with a fresh key every ${NEWCOMER_EVERY_MS} ms. Healthy answers:`,
  "first byte after 40 ms, 4 chunks 5 ms apart. Each fault hits the model that served most answers in the",
  `second before it, for ${FAULT_MS / 1000} s, then a ${RECOVERY_MS / 1000} s recovery; the feeds never change. Router settings:`,
  `${Object.entries(ROUTER_VARS)
    .map(([name, value]) => `\`${name}=${value}\``)
    .join(", ")}; every other setting as shipped, so broken streams are resumed (\`RESUME_MAX=1\`,`,
  "docs/contract.md §19).",
  "",
  "Columns (a request counts in the phase it ended in): a request succeeds when its stream ends with `[DONE]`,",
  "no error event, and its text is the whole answer exactly once, in order; *broken after commit* got",
  "a 200 and then a broken or stalled stream; *resumed* counts the continuations the router asked for after a",
  "stream broke mid-answer (docs/contract.md §19; each resumed stream that succeeded is among the successes);",
  "*garbled* ended as answers end with other text than the whole answer (none should); *failed before",
  "commit* got no 200. TTFT is to the first content",
  "chunk, over successful requests. *Clients on it at onset*: sticky clients whose last answer before the phase",
  "came from the phase's model. *Moves per client* counts how often a sticky client's model changed, from its",
  "model before the phase. *Served by that model* counts successful answers from the phase's model (in a",
  "recovery phase: it serves again).",
  "",
  ...results.flatMap((r) => [`## HEDGE_AFTER_MS=${r.hedgeAfterMs}`, "", r.text, ""]),
  "Reproduce: `npm install && npm run drill`.",
  "",
].join("\n");
if (settings.length > 1) {
  await writeFile("research/DRILL.md", doc);
  console.log("written: research/DRILL.md");
}
const plain = results[0]?.total;
if (plain)
  console.log(`overall success with hedging off: ${plain.successPct.toFixed(2)} % (target ≥ 99.5 %)`);
