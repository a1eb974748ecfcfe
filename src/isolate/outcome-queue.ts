// Outcome reports leave the request path: each request queues its breaker/counter report and sticky write as
// plain data, and one flush per isolate every FLUSH_DELAY_MS sends them in one RPC to the control-plane object
// and one per touched sticky shard. The request that finds no flush pending schedules it under its own
// waitUntil; the others only queue. No promise is shared between requests: the Workers runtime cancels
// continuations that one request resolves for another. The control plane answers with its fresh view, which
// refreshes this isolate's cache at no extra cost.
import type { OutcomeReport } from "../core/outcome.ts";
import type { RoutingView } from "../core/snapshot.ts";
import type { StickyWrite } from "../state/sticky-shard.ts";

/** Where a flush sends its batches. */
export interface OutcomeSinks {
  reportOutcomes(reports: OutcomeReport[]): Promise<RoutingView>;
  applySticky(shardName: string, writes: StickyWrite[]): Promise<void>;
  shardNameOf(key: string): string;
  /** Receives the control plane's answer to a report. */
  storeView(view: RoutingView, nowMs: number): void;
  /** How long after the first queued report a flush goes. */
  flushDelayMs: number;
  /** Waits that long (tests pass their own); a timer by default. */
  delay?: (ms: number) => Promise<void>;
}

export interface OutcomeQueue {
  /** Queues a request's report (and sticky write); schedules a flush in this request if none is pending. */
  enqueue(
    waitUntil: (promise: Promise<unknown>) => void,
    report: OutcomeReport | null,
    stickyWrite: StickyWrite | null,
  ): void;
  /** Sends everything queued now. Failures are logged and dropped: reports are best-effort by design. */
  flush(): Promise<void>;
  /** Nothing queued, scheduled or being sent (tests wait for this). */
  idle(): boolean;
}

export function createOutcomeQueue(sinks: OutcomeSinks): OutcomeQueue {
  const delay = sinks.delay ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let reports: OutcomeReport[] = [];
  let stickyWrites: StickyWrite[] = [];
  /** A flush is scheduled and has not taken the queue yet. */
  let flushPending = false;
  /** Flushes whose RPCs are under way. */
  let flushesInFlight = 0;

  const sendQueued = async () => {
    const batch = reports;
    const writes = stickyWrites;
    reports = [];
    stickyWrites = [];
    const byShard = new Map<string, StickyWrite[]>();
    // Only each key's last write matters.
    const latest = new Map(writes.map((write) => [write.key, write]));
    for (const write of latest.values()) {
      const name = sinks.shardNameOf(write.key);
      byShard.set(name, [...(byShard.get(name) ?? []), write]);
    }
    const tasks: Promise<unknown>[] = [...byShard].map(([name, group]) => sinks.applySticky(name, group));
    if (batch.length > 0) {
      tasks.push(sinks.reportOutcomes(batch).then((view) => sinks.storeView(view, Date.now())));
    }
    const results = await Promise.allSettled(tasks);
    for (const result of results) {
      if (result.status === "rejected") {
        console.error(JSON.stringify({ event: "outcome_flush_failed", error: String(result.reason) }));
      }
    }
  };

  const queue: OutcomeQueue = {
    enqueue(waitUntil, report, stickyWrite) {
      if (!report && !stickyWrite) return;
      if (report) reports.push(report);
      if (stickyWrite) stickyWrites.push(stickyWrite);
      if (flushPending) return;
      flushPending = true;
      waitUntil(delay(sinks.flushDelayMs).then(() => queue.flush()));
    },
    async flush() {
      flushPending = false;
      flushesInFlight += 1;
      try {
        await sendQueued();
      } finally {
        flushesInFlight -= 1;
      }
    },
    idle: () => !flushPending && flushesInFlight === 0 && reports.length === 0 && stickyWrites.length === 0,
  };
  return queue;
}
