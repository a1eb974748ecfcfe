// Waits for the first non-empty body chunk of a 2xx response, within a deadline (docs/contract.md §7's commit gate).
// Nothing is committed to the client before this returns a chunk.

export type FirstChunk =
  | { kind: "chunk"; chunk: Uint8Array }
  | { kind: "empty" }
  | { kind: "timeout" }
  | { kind: "error"; error: unknown };

export async function readFirstChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  timeoutMs: number,
): Promise<FirstChunk> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<FirstChunk>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs);
  });
  const firstNonEmpty = (async (): Promise<FirstChunk> => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { kind: "empty" };
        if (value.byteLength > 0) return { kind: "chunk", chunk: value };
      }
    } catch (error) {
      return { kind: "error", error };
    }
  })();
  try {
    return await Promise.race([firstNonEmpty, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
