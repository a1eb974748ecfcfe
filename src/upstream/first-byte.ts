// Waits for the first body bytes of a 2xx response that may commit it, within a deadline (docs/contract.md §7's
// commit gate). Normally that is the first non-empty chunk. In a hedged race only content commits (§13): the
// first SSE line with text, reasoning or a tool call, never a comment, a role-only chunk, an error event or
// `[DONE]`; what came before it is held and handed over with it. Nothing is committed before this returns.
import { isContentLine, isErrorDataLine } from "../core/sse.ts";

export type FirstChunk =
  | { kind: "chunk"; chunk: Uint8Array }
  | { kind: "empty" }
  | { kind: "timeout" }
  /** `data`: the error event's payload, when the stream sent one before any content. */
  | { kind: "error"; error: unknown; data?: string };

/** The first non-empty chunk. */
export function readFirstChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  timeoutMs: number,
): Promise<FirstChunk> {
  return withDeadline(timeoutMs, async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { kind: "empty" };
      if (value.byteLength > 0) return { kind: "chunk", chunk: value };
    }
  });
}

/** Every chunk up to and including the one that completes the first content line of an SSE stream. */
export function readFirstContent(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  timeoutMs: number,
): Promise<FirstChunk> {
  return withDeadline(timeoutMs, async () => {
    const decoder = new TextDecoder();
    const held: Uint8Array[] = [];
    let partial = "";
    let errorData: string | null = null;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        if (errorData === null) return { kind: "empty" };
        return { kind: "error", error: "error event before any content", data: errorData };
      }
      held.push(value);
      const lines = (partial + decoder.decode(value, { stream: true })).split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (isContentLine(line)) return { kind: "chunk", chunk: concat(held) };
        if (errorData === null && isErrorDataLine(line)) errorData = line.slice(5).trim();
      }
    }
  });
}

/** What the refusal gate saw of a stream's first event: its data when it is an error, and every byte read. */
export interface FirstEvent {
  /** The first event's data when it is an error object (`{"error":…}` or `{"object":"error",…}`), else null. */
  data: string | null;
  /** Every byte read so far, to commit when the first event is not an error. */
  held: FirstChunk;
}

// An error object as an SSE data line, or as Chutes' bare line without the `data:` prefix.
const ERROR_LINE = /^(data:\s*)?\{\s*"(error"\s*:|object"\s*:\s*"error")/;
// Enough of a first data line to tell an error object from a chunk.
const DECIDING_CHARS = 32;
const MAX_FIRST_EVENT_BYTES = 64 * 1024;

/**
 * Reads on from `first` only while the stream's first event may be an error object, and until that event's
 * line is whole (docs/contract.md §16: engines refuse inside a 200 stream this way). A stream whose first line
 * is a chunk, a comment or anything else is decided on the bytes already read.
 */
export async function readFirstEventIfError(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: Uint8Array,
  timeoutMs: number,
): Promise<FirstEvent> {
  const decoder = new TextDecoder();
  const held = [first];
  let bytes = first.byteLength;
  let text = decoder.decode(first, { stream: true });
  const heldChunk = (): FirstChunk => ({ kind: "chunk", chunk: concat(held) });
  for (;;) {
    const line = firstLine(text);
    if (line !== null) {
      const decided = line.complete || line.text.length >= DECIDING_CHARS;
      if (decided && !ERROR_LINE.test(line.text)) return { data: null, held: heldChunk() };
      if (line.complete) return { data: line.text.replace(/^data:\s*/, ""), held: heldChunk() };
    }
    if (bytes > MAX_FIRST_EVENT_BYTES) return { data: null, held: heldChunk() };
    const next = await withDeadline(timeoutMs, async () => {
      const { done, value } = await reader.read();
      return done ? { kind: "empty" } : { kind: "chunk", chunk: value };
    });
    if (next.kind !== "chunk") {
      const partial = line !== null && ERROR_LINE.test(line.text) ? line.text.replace(/^data:\s*/, "") : null;
      return { data: partial, held: heldChunk() };
    }
    held.push(next.chunk);
    bytes += next.chunk.byteLength;
    text += decoder.decode(next.chunk, { stream: true });
  }
}

/** The first line that is not blank and not an SSE comment, and whether it has ended; null before one starts. */
function firstLine(text: string): { text: string; complete: boolean } | null {
  let start = 0;
  for (;;) {
    const end = text.indexOf("\n", start);
    const line = (end === -1 ? text.slice(start) : text.slice(start, end)).replace(/\r$/, "");
    if (end === -1) return line === "" ? null : { text: line, complete: false };
    if (line.trim() !== "" && !line.startsWith(":")) return { text: line, complete: true };
    start = end + 1;
  }
}

async function withDeadline(timeoutMs: number, read: () => Promise<FirstChunk>): Promise<FirstChunk> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<FirstChunk>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs);
  });
  const first = read().catch((error: unknown): FirstChunk => ({ kind: "error", error }));
  try {
    return await Promise.race([first, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
