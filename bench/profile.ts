// `node bench/profile.ts [direct|list|alias] [stream]`: CPU-profiles the router under load through workerd's
// inspector (Chrome DevTools Protocol on loopback) and prints where its JavaScript time goes, by function,
// so a missed benchmark target can be traced to its cause. Writes logs/bench/router.cpuprofile.
// BENCH_RECORDING=off|metadata|redacted|full profiles the router recording at that level.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../e2e/ports.ts";
import { connectInspector } from "./inspector.ts";
import { runLoad } from "./load.ts";
import { bundleWorker, startFakeProcess, startRouter, waitReady } from "./targets.ts";

const MODELS = {
  direct: "fake/fast-model",
  list: "fake/fast-model,fake/flaky-model",
  alias: "chutesai/AutoPilot",
};
const mode = (process.argv[2] ?? "alias") as keyof typeof MODELS;
const stream = process.argv[3] === "stream";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const fake = await startFakeProcess();
const dir = await mkdtemp(join(tmpdir(), "autopilot-profile-"));
const inspectorPort = await freePort();
const recording = process.env.BENCH_RECORDING;
const router = await startRouter(
  await bundleWorker("src/index.ts", dir, true),
  fake.url,
  inspectorPort,
  recording ? { RECORDING: recording, RECORDING_REDACTION_KEY: "bench-redaction-key" } : {},
);
try {
  await fake.admin("behavior", {
    model: MODELS.direct,
    behavior: { kind: "healthy", chunks: 20, intervalMs: 0 },
  });
  await waitReady(router.url);
  const load = (requests: number) =>
    runLoad({
      url: `${router.url}/v1/chat/completions`,
      concurrency: 16,
      requests,
      stream,
      deadlineMs: 60_000,
      headers: (w) => ({ "content-type": "application/json", authorization: `Bearer cpk_profile_${w}` }),
      body: () =>
        JSON.stringify({
          model: MODELS[mode],
          stream,
          messages: [
            { role: "user", content: "Hello, please reply to jane.doe@example.com with a greeting." },
          ],
        }),
    });
  await load(500);
  const inspector = await connectInspector(inspectorPort);
  const send = inspector.send;
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 100 });
  await send("Profiler.start");
  const result = await load(3000);
  const { profile } = (await send("Profiler.stop")) as {
    profile: { nodes: ProfileNode[]; samples: number[] };
  };
  inspector.close();
  await mkdir("logs/bench", { recursive: true });
  await writeFile("logs/bench/router.cpuprofile", JSON.stringify(profile));

  const total = profile.samples.length;
  const selfByFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const name = `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.split("/").pop()}:${node.callFrame.lineNumber + 1}`;
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + (node.hitCount ?? 0));
  }
  console.log(
    `mode ${mode}${stream ? " (stream)" : ""}: ${result.completed} requests in ${result.elapsedMs.toFixed(0)} ms, ${total} samples`,
  );
  for (const [name, hits] of [...selfByFunction].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
} finally {
  await router.stop();
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
}
