// Streams a committed upstream body to the client chunk by chunk, pulling only when the client reads (no
// buffering). After commit nothing is retried: a break or an idle stall past UPSTREAM_IDLE_TIMEOUT_MS ends an
// SSE stream with one error event, and errors any other body. A client that goes away cancels the upstream.
import { endsAtEventBoundary, endsWithBareErrorLine, formatStreamErrorEvent } from "../core/sse.ts";

export type RelayEnd = "complete" | "upstream_error" | "idle_timeout" | "client_cancel";

export interface RelayOptions {
  idleTimeoutMs: number;
  isEventStream: boolean;
  /** Aborts the upstream fetch. */
  abortUpstream: (reason: string) => void;
  /** Called exactly once, when the relay ends for any reason. */
  onEnd: (end: RelayEnd) => void;
}

const encoder = new TextEncoder();
// Enough of the stream's end to see its last line; JSON keys are ASCII, so a byte-wise (latin1) view will do.
const TAIL_BYTES = 512;

export function relayBody(
  first: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  let ended = false;
  let tail = "";
  const end = (how: RelayEnd) => {
    if (ended) return;
    ended = true;
    options.onEnd(how);
  };
  const remember = (chunk: Uint8Array) => {
    const end = chunk.subarray(Math.max(0, chunk.byteLength - TAIL_BYTES));
    tail = (tail + String.fromCharCode(...end)).slice(-TAIL_BYTES);
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(first);
        remember(first);
      },
      async pull(controller) {
        const next = await readWithin(reader, options.idleTimeoutMs);
        if (next.kind === "chunk") {
          controller.enqueue(next.chunk);
          remember(next.chunk);
          return;
        }
        if (next.kind === "done" && !(options.isEventStream && endsWithBareErrorLine(tail))) {
          controller.close();
          end("complete");
          return;
        }
        const how = next.kind === "timeout" ? "idle_timeout" : "upstream_error";
        if (next.kind !== "done") {
          options.abortUpstream(how);
          reader.cancel().catch(() => {});
        }
        const message =
          how === "idle_timeout"
            ? `The upstream stream stalled for more than ${options.idleTimeoutMs} ms`
            : "The upstream stream failed";
        if (options.isEventStream) {
          controller.enqueue(encoder.encode(formatStreamErrorEvent(message, !endsAtEventBoundary(tail))));
          controller.close();
        } else {
          controller.error(new Error(message));
        }
        end(how);
      },
      cancel(reason) {
        options.abortUpstream("client_cancel");
        reader.cancel(reason).catch(() => {});
        end("client_cancel");
      },
    },
    { highWaterMark: 0 },
  );
}

type Read = { kind: "chunk"; chunk: Uint8Array } | { kind: "done" } | { kind: "timeout" } | { kind: "error" };

async function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, timeoutMs: number): Promise<Read> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<Read>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs);
  });
  const read = reader.read().then(
    ({ done, value }): Read => (done ? { kind: "done" } : { kind: "chunk", chunk: value }),
    (): Read => ({ kind: "error" }),
  );
  try {
    return await Promise.race([read, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
