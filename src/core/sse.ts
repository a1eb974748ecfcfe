// Server-sent events: recognising an SSE response, and the one error event that ends a broken stream (SPEC §7).
import { toOpenAIErrorBody } from "./router-error.ts";

export function isEventStream(contentType: string | null): boolean {
  return contentType?.toLowerCase().includes("text/event-stream") ?? false;
}

/** `data: {"error":{…,"code":"upstream_stream_error"}}` as a complete event, preceded by a blank line when the
 * stream stopped mid-event so the error is never glued onto a partial line. */
export function formatStreamErrorEvent(message: string, endedMidEvent: boolean): string {
  const event = `data: ${JSON.stringify(toOpenAIErrorBody(message, "upstream_error", "upstream_stream_error"))}\n\n`;
  return endedMidEvent ? `\n\n${event}` : event;
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
