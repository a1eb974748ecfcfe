// Waits for the first body bytes of a 2xx response that may commit it, within a deadline (docs/contract.md §7's
// commit gate). Normally that is the first non-empty chunk. In a hedged race only content commits (§13): the
// first SSE line with text, reasoning or a tool call, never a comment, a role-only chunk, an error event or
// `[DONE]`; what came before it is held and handed over with it. Nothing is committed before this returns.
import { isContentLine, isErrorDataLine } from "../core/sse.ts";

export type FirstChunk =
  | { kind: "chunk"; chunk: Uint8Array }
  | { kind: "empty" }
  | { kind: "timeout" }
  | { kind: "error"; error: unknown };

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
    let sawError = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done)
        return sawError ? { kind: "error", error: "error event before any content" } : { kind: "empty" };
      held.push(value);
      const lines = (partial + decoder.decode(value, { stream: true })).split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (isContentLine(line)) return { kind: "chunk", chunk: concat(held) };
        if (isErrorDataLine(line)) sawError = true;
      }
    }
  });
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
