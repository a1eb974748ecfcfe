// Records leave the isolate in batches (docs/contract.md §17): each request's record, once built, is queued
// here, and one flush per isolate every FLUSH_DELAY_MS sends everything queued with `sendBatch` (at most 100
// messages and 256 KB a call), so a busy isolate makes a few Queue calls a second instead of one per request.
// The request that finds no flush pending schedules it under its own waitUntil, as the outcome queue does; a
// full batch goes at once. A failed send is tried twice more before its records are given up and logged.

/** Where a flush sends a batch. */
export interface RecordSink<Message> {
  send(messages: Message[]): Promise<void>;
  /** How long after the first queued record a flush goes. */
  flushDelayMs: number;
  /** Waits that long (tests pass their own); a timer by default. */
  delay?: (ms: number) => Promise<void>;
}

export interface RecordQueue<Message> {
  /** Queues one record (`bytes`: its JSON size); schedules a flush in this request if none is pending. */
  enqueue(waitUntil: (promise: Promise<unknown>) => void, message: Message, bytes: number): void;
  /** Nothing queued, scheduled or being sent. */
  idle(): boolean;
}

/** What one Queue `sendBatch` takes. */
export const BATCH_MESSAGES = 100;
export const BATCH_BYTES = 240_000;
const SEND_TRIES = 3;

export function createRecordQueue<Message>(sink: RecordSink<Message>): RecordQueue<Message> {
  const delay = sink.delay ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let queued: Array<{ message: Message; bytes: number }> = [];
  let queuedBytes = 0;
  let flushPending = false;
  let flushesInFlight = 0;

  /** The queued records in batches the Queue accepts. */
  const takeBatches = () => {
    const batches: Message[][] = [];
    let batch: Message[] = [];
    let bytes = 0;
    for (const entry of queued) {
      if (batch.length === BATCH_MESSAGES || (batch.length > 0 && bytes + entry.bytes > BATCH_BYTES)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(entry.message);
      bytes += entry.bytes;
    }
    if (batch.length > 0) batches.push(batch);
    queued = [];
    queuedBytes = 0;
    return batches;
  };

  const sendWithRetries = async (batch: Message[]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await sink.send(batch);
        return;
      } catch (error) {
        if (attempt >= SEND_TRIES) {
          console.error(
            JSON.stringify({ event: "record_lost", records: batch.length, message: String(error) }),
          );
          return;
        }
        await delay(sink.flushDelayMs * attempt);
      }
    }
  };

  const flush = async () => {
    flushPending = false;
    flushesInFlight += 1;
    try {
      await Promise.all(takeBatches().map(sendWithRetries));
    } finally {
      flushesInFlight -= 1;
    }
  };

  return {
    enqueue(waitUntil, message, bytes) {
      queued.push({ message, bytes });
      queuedBytes += bytes;
      if (queued.length >= BATCH_MESSAGES || queuedBytes >= BATCH_BYTES) {
        waitUntil(flush());
        return;
      }
      if (flushPending) return;
      flushPending = true;
      waitUntil(delay(sink.flushDelayMs).then(() => (flushPending ? flush() : undefined)));
    },
    idle: () => !flushPending && flushesInFlight === 0 && queued.length === 0,
  };
}
