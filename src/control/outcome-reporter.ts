// Outcome reports leave the request path: each request queues its breaker/counter report and sticky write,
// and one flush per isolate every FLUSH_DELAY_MS sends them in a single RPC to the control-plane object and one
// per touched sticky shard, under waitUntil. The control plane answers with its fresh view, which refreshes
// this isolate's cache at no extra cost.
import type { OutcomeReport } from "../core/outcome.ts";
import type { StickyWrite } from "../state/sticky-shard.ts";
import { controlPlane, storeRoutingView } from "./routing-view.ts";
import { stickyShardName } from "./sticky-client.ts";

const FLUSH_DELAY_MS = 50;

let reports: OutcomeReport[] = [];
let stickyWrites: StickyWrite[] = [];
/** The next flush, not started yet; every request queued before it starts is in it. */
let scheduled: Promise<void> | null = null;
/** The flush under way, so the next one starts after it (batches never overlap or reorder). */
let running: Promise<void> = Promise.resolve();
let flushEnv: Env | null = null;

/** Queues a request's report (and sticky write) and keeps the flush that will carry it under waitUntil. */
export function queueOutcome(
  env: Env,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  report: OutcomeReport | null,
  stickyWrite: StickyWrite | null,
): void {
  if (!report && !stickyWrite) return;
  if (report) reports.push(report);
  if (stickyWrite) stickyWrites.push(stickyWrite);
  flushEnv = env;
  scheduled ??= running
    .then(() => new Promise<void>((resolve) => setTimeout(resolve, FLUSH_DELAY_MS)))
    .then(() => {
      scheduled = null;
      running = flushOutcomes();
      return running;
    });
  ctx.waitUntil(scheduled);
}

/** Sends everything queued now. Failures are logged and dropped: reports are best-effort by design. */
export async function flushOutcomes(): Promise<void> {
  const env = flushEnv;
  if (!env) return;
  const batch = reports;
  const writes = stickyWrites;
  reports = [];
  stickyWrites = [];
  const byShard = new Map<string, StickyWrite[]>();
  for (const write of writes) {
    const name = stickyShardName(write.key);
    byShard.set(name, [...(byShard.get(name) ?? []), write]);
  }
  const tasks: Promise<unknown>[] = [...byShard].map(([name, group]) =>
    env.STICKY_SHARD.getByName(name).apply(group),
  );
  if (batch.length > 0) {
    tasks.push(
      controlPlane(env)
        .reportOutcomes(batch)
        .then((view) => storeRoutingView(view, Date.now())),
    );
  }
  const results = await Promise.allSettled(tasks);
  for (const result of results) {
    if (result.status === "rejected") {
      console.error(JSON.stringify({ event: "outcome_flush_failed", error: String(result.reason) }));
    }
  }
}

/** Waits until everything queued so far has been sent (tests, and graceful paths). */
export async function settleOutcomes(): Promise<void> {
  while (scheduled) await scheduled;
  await running;
}
