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
