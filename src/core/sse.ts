// Server-sent events: recognising an SSE response and reading how an upstream stream ended (docs/contract.md
// §7). The error event that ends a broken stream is each protocol's own (protocols/openai/errors.ts).

export function isEventStream(contentType: string | null): boolean {
  return contentType?.toLowerCase().includes("text/event-stream") ?? false;
}

/**
 * Whether an SSE body that ended cleanly actually ended on an error: chutes-api writes a bare
 * `{"error":"Unhandled exception during response stream: …"}` (no `data:` prefix) into a committed stream and
 * then closes it normally (research/COVERAGE_MATRIX.md), which SSE clients would silently skip.
 */
export function endsWithBareErrorLine(tail: string): boolean {
  const lines = tail.split(/\r?\n/).filter((line) => line.trim() !== "");
  return /^\{\s*"error"\s*:/.test(lines.at(-1)?.trim() ?? "");
}

/** Whether the stream stopped exactly at an event boundary (a blank line). */
export function endsAtEventBoundary(tail: string): boolean {
  return tail.endsWith("\n\n") || tail.endsWith("\r\n\r\n");
}
