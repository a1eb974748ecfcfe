import { describe, expect, it } from "vitest";
import { BATCH_BYTES, BATCH_MESSAGES, createRecordQueue } from "./record-queue.ts";

/** A queue whose timer the test fires, and the batches it sent. */
function harness(fail = 0) {
  const sent: number[][] = [];
  const timers: Array<() => void> = [];
  const pending: Promise<unknown>[] = [];
  let failures = fail;
  const queue = createRecordQueue<number>({
    send: async (messages) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error("queue unavailable");
      }
      sent.push(messages);
    },
    flushDelayMs: 250,
    delay: () => new Promise<void>((resolve) => timers.push(resolve)),
  });
  const waitUntil = (promise: Promise<unknown>) => void pending.push(promise);
  /** Fires every timer, the retries' too, until what the requests waited on has settled. */
  const tick = async () => {
    let settled = false;
    void Promise.all(pending.splice(0)).then(() => {
      settled = true;
    });
    while (!settled) {
      for (const fire of timers.splice(0)) fire();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  };
  return { queue, sent, waitUntil, tick, timers };
}

describe("the record queue", () => {
  it("sends what requests queued in one batch per flush, scheduled by the first of them", async () => {
    const { queue, sent, waitUntil, tick, timers } = harness();
    for (let i = 0; i < 5; i++) queue.enqueue(waitUntil, i, 10);
    expect(timers).toHaveLength(1);
    expect(sent).toEqual([]);
    expect(queue.idle()).toBe(false);
    await tick();
    expect(sent).toEqual([[0, 1, 2, 3, 4]]);
    expect(queue.idle()).toBe(true);
  });

  it("sends a full batch at once, and splits what it sends within the Queue's limits", async () => {
    const { queue, sent, waitUntil, tick } = harness();
    for (let i = 0; i < BATCH_MESSAGES; i++) queue.enqueue(waitUntil, i, 10);
    await tick();
    expect(sent.map((batch) => batch.length)).toEqual([BATCH_MESSAGES]);
    const big = Math.floor(BATCH_BYTES / 2.5);
    for (let i = 0; i < 3; i++) queue.enqueue(waitUntil, i, big);
    await tick();
    expect(sent.slice(1).map((batch) => batch.length)).toEqual([2, 1]);
  });

  it("tries a failed send again, and gives the batch up after three failures", async () => {
    const retried = harness(2);
    retried.queue.enqueue(retried.waitUntil, 7, 10);
    await retried.tick();
    expect(retried.sent).toEqual([[7]]);
    const lost = harness(3);
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => void errors.push(line);
    try {
      lost.queue.enqueue(lost.waitUntil, 8, 10);
      await lost.tick();
    } finally {
      console.error = original;
    }
    expect(lost.sent).toEqual([]);
    expect(errors.join()).toContain('"event":"record_lost","records":1');
  });
});
