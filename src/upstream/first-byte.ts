// Waits for the first body bytes of a 2xx response that may commit it, within a deadline (docs/contract.md §7's
// commit gate). Normally that is the first non-empty chunk. In a hedged race only content commits (§13): the
// first event with text, reasoning or a tool call, never a comment, a role-only chunk, an error event or
// `[DONE]`; what came before it is held and handed over with it. In alias and list modes a stream whose first
// event is an error is read to that event's end, so an engine's refusal there can move the request on (§16).
// Nothing is committed before this returns. Events are read with core/event-stream.ts.
import { concat, createSseReader, eventError, isContentEvent, type SseEvent } from "../core/event-stream.ts";
import type { Deadline } from "./deadline.ts";

export type FirstChunk =
  | { kind: "chunk"; chunk: Uint8Array }
  | { kind: "empty" }
  | { kind: "timeout" }
  | { kind: "error"; error: unknown };

/** What the gate saw: the bytes to commit, and the data of an error event that came first, if one did. */
export interface FirstBytes {
  first: FirstChunk;
  errorData: string | null;
}

/** Events whose first is not decided by this many bytes are committed as they are (a huge first event). */
const MAX_FIRST_EVENT_BYTES = 64 * 1024;

/** Reads a 2xx body until it may commit: its first chunk, its first content (`content`), and in either case
 * its first event whole when that event is an error (`firstEvent`). */
export function readFirstBytes(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  timeoutMs: number,
  deadline: Deadline,
  gates: { content: boolean; firstEvent: boolean },
): Promise<FirstBytes> {
  if (!gates.content && !gates.firstEvent)
    return withDeadline(timeoutMs, deadline, async () => ({
      first: await firstChunk(reader),
      errorData: null,
    }));
  return withDeadline(timeoutMs, deadline, () => readEvents(reader, gates));
}

async function firstChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<FirstChunk> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { kind: "empty" };
    if (value.byteLength > 0) return { kind: "chunk", chunk: value };
  }
}

async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  gates: { content: boolean; firstEvent: boolean },
): Promise<FirstBytes> {
  const events = createSseReader();
  const held: Uint8Array[] = [];
  let bytes = 0;
  // The content gate's first error event, kept in case no content follows it.
  let errorData: string | null = null;
  const chunk = (): FirstChunk => ({ kind: "chunk", chunk: concat(held, bytes) });
  /** The verdict an event brings, or null to read on. */
  const onEvent = (event: SseEvent): FirstBytes | null => {
    const error = eventError(event);
    if (gates.content) {
      if (isContentEvent(event)) return { first: chunk(), errorData: null };
      errorData ??= error;
      return null;
    }
    // The first event that says anything decides: an error is handed over to be judged, anything else commits.
    if (error !== null) return { first: chunk(), errorData: error };
    return event.data !== null ? { first: chunk(), errorData: null } : null;
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      const rest = events.end();
      const verdict = rest ? onEvent(rest) : null;
      if (verdict) return verdict;
      if (gates.content)
        return errorData === null
          ? { first: { kind: "empty" }, errorData: null }
          : { first: { kind: "error", error: "error event before any content" }, errorData };
      return { first: bytes > 0 ? chunk() : { kind: "empty" }, errorData: null };
    }
    if (value.byteLength === 0) continue;
    held.push(value);
    bytes += value.byteLength;
    for (const event of events.push(value)) {
      const verdict = onEvent(event);
      if (verdict) return verdict;
    }
    if (!gates.content && bytes > MAX_FIRST_EVENT_BYTES) return { first: chunk(), errorData: null };
  }
}

async function withDeadline(
  timeoutMs: number,
  deadline: Deadline,
  read: () => Promise<FirstBytes>,
): Promise<FirstBytes> {
  const timedOut = new Promise<FirstBytes>((resolve) => {
    deadline.arm(timeoutMs, () => resolve({ first: { kind: "timeout" }, errorData: null }));
  });
  const first = read().catch(
    (error: unknown): FirstBytes => ({ first: { kind: "error", error }, errorData: null }),
  );
  try {
    return await Promise.race([first, timedOut]);
  } finally {
    deadline.disarm();
  }
}
