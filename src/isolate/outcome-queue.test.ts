// The isolate's outcome queue against fake sinks, with the flush delay in the test's hands: what the control
// plane and the sticky shards receive, and when.
import { describe, expect, it, vi } from "vitest";
import type { OutcomeReport } from "../core/outcome.ts";
import type { RoutingView } from "../core/snapshot.ts";
import type { StickyWrite } from "../state/sticky-shard.ts";
import { createOutcomeQueue } from "./outcome-queue.ts";

const report = (status: number): OutcomeReport => ({
  status,
  selected: null,
  attempts: [],
  stream: null,
  usage: null,
});
const write = (key: string, model: string): StickyWrite => ({ key, model, atMs: 0 });

function setup() {
  const sent: OutcomeReport[][] = [];
  const sticky: Array<[string, StickyWrite[]]> = [];
  let releases: Array<() => void> = [];
  let failing = false;
  const pending: Promise<unknown>[] = [];
  const queue = createOutcomeQueue({
    reportOutcomes: async (reports) => {
      if (failing) throw new Error("control plane unreachable");
      sent.push(reports);
      return {} as RoutingView;
    },
    applySticky: async (name, writes) => {
      sticky.push([name, writes]);
    },
    shardNameOf: (key) => `shard-${key.length % 2}`,
    storeView: () => {},
    flushDelayMs: 50,
    delay: () =>
      new Promise<void>((resolve) => {
        releases.push(resolve);
      }),
  });
  return {
    queue,
    sent,
    sticky,
    fail: () => {
      failing = true;
    },
    waitUntil: (promise: Promise<unknown>) => pending.push(promise),
    /** The flush delay passes. */
    async elapse() {
      const due = releases;
      releases = [];
      for (const release of due) release();
      while (pending.length > 0) await Promise.all(pending.splice(0));
    },
  };
}

describe("the outcome queue", () => {
  it("sends every report queued before the flush delay passes in one batch, scheduled once", async () => {
    const { queue, sent, waitUntil, elapse } = setup();
    for (let i = 0; i < 10; i++) queue.enqueue(waitUntil, report(200), null);
    expect(sent).toEqual([]);
    expect(queue.idle()).toBe(false);
    await elapse();
    expect(sent.map((batch) => batch.length)).toEqual([10]);
    expect(queue.idle()).toBe(true);
  });

  it("puts a report queued after a flush went into the next batch", async () => {
    const { queue, sent, waitUntil, elapse } = setup();
    queue.enqueue(waitUntil, report(200), null);
    await elapse();
    queue.enqueue(waitUntil, report(502), null);
    queue.enqueue(waitUntil, report(200), null);
    await elapse();
    expect(sent.map((batch) => batch.map((each) => each.status))).toEqual([[200], [502, 200]]);
  });

  it("sends each sticky key's last write only, one call per shard", async () => {
    const { queue, sticky, waitUntil, elapse } = setup();
    queue.enqueue(waitUntil, null, write("ab", "m1"));
    queue.enqueue(waitUntil, null, write("abc", "m2"));
    queue.enqueue(waitUntil, null, write("ab", "m3"));
    await elapse();
    expect(sticky).toEqual([
      ["shard-0", [write("ab", "m3")]],
      ["shard-1", [write("abc", "m2")]],
    ]);
  });

  it("logs a batch the control plane refused and drops it, and is idle after", async () => {
    const { queue, sent, fail, waitUntil, elapse } = setup();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    fail();
    queue.enqueue(waitUntil, report(200), null);
    await elapse();
    expect(sent).toEqual([]);
    expect(String(logged.mock.calls[0]?.[0])).toContain("outcome_flush_failed");
    expect(queue.idle()).toBe(true);
    logged.mockRestore();
  });
});
