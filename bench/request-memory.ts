// `npm run bench:memory`: how much memory the router's workerd process takes to route one large request
// (docs/contract.md §16: MAX_REQUEST_BYTES is 32 MiB, and a Worker isolate has 128 MB). Against the fake
// Chutes on the real feeds, under plain Miniflare, it sends requests carrying one base64 image of 1.6 to 32
// MiB (an image reaches a model that reads images; text that size fits no window and is refused early), on
// both the OpenAI and the Anthropic route, one at a time. Per request: the isolate's JavaScript heap at its
// highest above a collected baseline (V8's own count through the inspector, polled every millisecond; it
// includes garbage not yet collected, so it is an upper bound of what the request needs), the workerd
// process's peak resident memory above what it held just before (Linux VmHWM, reset through
// /proc/PID/clear_refs; this adds workerd's native buffers of the request and upstream bodies), and its CPU
// time. Prints a table to quote; run by hand (it is not part of CI).
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../e2e/ports.ts";
import { connectInspector } from "./inspector.ts";
import { cpuMs, workerdChildren } from "./process-cpu.ts";
import { bundleWorker, startFakeProcess, startRouter, waitReady } from "./targets.ts";

const MIB = 1024 * 1024;
const SIZES = [1.6, 8, 16, 31.9];
const REPEATS = Number(process.env.MEMORY_REPEATS ?? 3);

function kilobytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((entry) => entry.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1] ?? 0);
}

/** A PNG header of a 1920 × 1080 image followed by `bytes` of base64 filler: an image of about that size. */
function image(bytes: number): string {
  const header = Buffer.from([
    ...[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52],
    ...[0, 0, 0x07, 0x80, 0, 0, 0x04, 0x38, 8, 2, 0, 0, 0],
    ...new Array(35).fill(0),
  ]).toString("base64");
  return header + "A".repeat(Math.max(0, Math.floor(bytes) - header.length - 400));
}

function requestFor(route: "openai" | "anthropic", bytes: number): { path: string; init: RequestInit } {
  const data = image(bytes);
  if (route === "openai") {
    const body = {
      model: "chutesai/AutoPilot",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is on the screen?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${data}` } },
          ],
        },
      ],
    };
    return {
      path: "/v1/chat/completions",
      init: {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer k" },
        body: JSON.stringify(body),
      },
    };
  }
  const body = {
    model: "claude-sonnet-4-6",
    max_tokens: 1024,
    messages: [
      {
        role: "user",
        content: [
          { type: "image", source: { type: "base64", media_type: "image/png", data } },
          { type: "text", text: "What is on the screen?" },
        ],
      },
    ],
  };
  return {
    path: "/v1/messages",
    init: {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: JSON.stringify(body),
    },
  };
}

const out = await mkdtemp(join(tmpdir(), "autopilot-memory-"));
const fake = await startFakeProcess("real");
const script = await bundleWorker(join(import.meta.dirname, "..", "src/index.ts"), out);
const inspectorPort = await freePort();
const router = await startRouter(script, fake.url, inspectorPort);
try {
  await waitReady(router.url);
  const [pid] = [...workerdChildren()];
  if (pid === undefined) throw new Error("no workerd process found");
  const inspector = await connectInspector(inspectorPort);
  const heapUsed = async () =>
    ((await inspector.send("Runtime.getHeapUsage")) as { usedSize: number }).usedSize;
  const rows: string[] = [];
  for (const route of ["openai", "anthropic"] as const) {
    for (const size of SIZES) {
      const peaks: number[] = [];
      const heaps: number[] = [];
      const cpus: number[] = [];
      let status = 0;
      let selected = "";
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        const { path, init } = requestFor(route, size * MIB);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await inspector.send("HeapProfiler.collectGarbage");
        const heapBefore = await heapUsed();
        writeFileSync(`/proc/${pid}/clear_refs`, "5");
        const before = kilobytes(pid, "VmRSS");
        const cpuBefore = cpuMs(pid);
        let heapPeak = heapBefore;
        let polling = true;
        const poll = (async () => {
          while (polling) heapPeak = Math.max(heapPeak, await heapUsed());
        })();
        const response = await fetch(`${router.url}${path}`, init);
        await response.text();
        polling = false;
        await poll;
        heaps.push((heapPeak - heapBefore) / MIB);
        status = response.status;
        selected = response.headers.get("x-chutes-autopilot-selected") ?? "";
        peaks.push((kilobytes(pid, "VmHWM") - before) / 1024);
        cpus.push(cpuMs(pid) - cpuBefore);
      }
      const median = (values: number[]) =>
        [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
      const pair = (values: number[]) => `${median(values).toFixed(1)} / ${Math.max(...values).toFixed(1)}`;
      rows.push(
        `| ${route} | ${size} | ${status} ${selected} | ${pair(heaps)} | ${pair(peaks)} | ${median(cpus).toFixed(0)} |`,
      );
    }
  }
  inspector.close();
  console.log(
    "| route | body MiB | answer | JS heap peak over baseline, median / max MiB | process RSS peak over baseline, median / max MiB | workerd CPU ms |",
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const row of rows) console.log(row);
} finally {
  await router.stop();
  await fake.stop();
  await rm(out, { recursive: true, force: true });
}
