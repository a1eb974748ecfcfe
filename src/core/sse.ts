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

/**
 * Whether one SSE line carries content, the only thing that may commit a hedged race (docs/contract.md §13):
 * a `data:` line that is not `[DONE]`, not an error, and, for an OpenAI chunk, has text, reasoning or a tool
 * call in some choice. Comments, blank lines, role-only and usage-only chunks do not. A data line that is not
 * JSON, or JSON of another shape, counts as content: the router does not judge what it does not know.
 */
export function isContentLine(line: string): boolean {
  if (!line.startsWith("data:")) return false;
  const payload = line.slice(5).trim();
  if (payload === "" || payload === "[DONE]") return false;
  let chunk: unknown;
  try {
    chunk = JSON.parse(payload);
  } catch {
    return true;
  }
  if (typeof chunk !== "object" || chunk === null) return true;
  if ("error" in chunk) return false;
  const choices = (chunk as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return true;
  return choices.some((choice) => choiceHasContent(choice));
}

/** Whether one SSE line is a `data:` line carrying an error object. */
export function isErrorDataLine(line: string): boolean {
  if (!line.startsWith("data:")) return false;
  try {
    const payload: unknown = JSON.parse(line.slice(5).trim());
    return typeof payload === "object" && payload !== null && "error" in payload;
  } catch {
    return false;
  }
}

function choiceHasContent(choice: unknown): boolean {
  if (typeof choice !== "object" || choice === null) return false;
  const { delta, text } = choice as { delta?: Record<string, unknown>; text?: unknown };
  if (typeof text === "string" && text !== "") return true;
  if (typeof delta !== "object" || delta === null) return false;
  const nonEmpty = (value: unknown) =>
    (typeof value === "string" && value !== "") || (Array.isArray(value) && value.length > 0);
  return (
    nonEmpty(delta.content) ||
    nonEmpty(delta.reasoning_content) ||
    nonEmpty(delta.reasoning) ||
    nonEmpty(delta.tool_calls)
  );
}
