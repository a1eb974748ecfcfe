// Server-sent events, read once (docs/contract.md §7, §13, §14): the one incremental reader that turns an
// upstream's bytes into whole events, however its chunks split them, each with its raw bytes so a relay can
// pass them on byte for byte; and the formatter for the events the router writes itself. An event is decoded
// only when a consumer asks for its data. Lines end with LF or CRLF (what OpenAI-compatible servers send); a
// lone CR is kept as part of its line. Every part of the router that looks inside a stream reads it here.

/** Whether a response is an event stream, by its Content-Type. */
export function isEventStream(contentType: string | null): boolean {
  return contentType?.toLowerCase().includes("text/event-stream") ?? false;
}

const LF = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** One event: its bytes up to and including the blank line that ended it, and its fields on demand. */
export class SseEvent {
  /** The event's bytes as received; the raw bytes of a stream's events, in order, are the stream. */
  readonly raw: Uint8Array;
  /** False only for what was left when the stream ended without a blank line. */
  readonly complete: boolean;
  #fields: { data: string | null; type: string | null; text: string } | null = null;

  constructor(raw: Uint8Array, complete: boolean) {
    this.raw = raw;
    this.complete = complete;
  }

  /** Whether the event's first line is a `data:` line: a cheap check on the raw bytes, nothing decoded. */
  get startsWithData(): boolean {
    const raw = this.raw;
    return raw[0] === 0x64 && raw[1] === 0x61 && raw[2] === 0x74 && raw[3] === 0x61 && raw[4] === 0x3a;
  }

  /** The `data:` lines' values joined by newlines (the SSE rule), or null when the event has none. */
  get data(): string | null {
    return this.#parse().data;
  }

  /** The `event:` field, or null. */
  get type(): string | null {
    return this.#parse().type;
  }

  /** The event as text, as received. */
  get text(): string {
    return this.#parse().text;
  }

  #parse(): { data: string | null; type: string | null; text: string } {
    if (this.#fields) return this.#fields;
    const text = decoder.decode(this.raw);
    let data: string[] | null = null;
    let type: string | null = null;
    for (const line of text.split("\n")) {
      const clean = line.endsWith("\r") ? line.slice(0, -1) : line;
      if (clean === "" || clean.startsWith(":")) continue;
      const colon = clean.indexOf(":");
      const field = colon === -1 ? clean : clean.slice(0, colon);
      const value = colon === -1 ? "" : clean.slice(clean[colon + 1] === " " ? colon + 2 : colon + 1);
      if (field === "data") {
        data ??= [];
        data.push(value);
      } else if (field === "event") type = value;
    }
    this.#fields = { data: data === null ? null : data.join("\n"), type, text };
    return this.#fields;
  }
}

export interface SseReader {
  /** The events `chunk` completes, in order (a blank line ends each; one with no fields is an event too). */
  push(chunk: Uint8Array): SseEvent[];
  /** The stream ended: what is left of an event that never got its blank line, if anything. */
  end(): SseEvent | null;
  /** Bytes of an event begun and not yet ended. */
  readonly pendingBytes: number;
}

/** A reader for one stream. */
export function createSseReader(): SseReader {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  // Bytes of the current line so far (across chunks), and whether its last one was a CR.
  let lineBytes = 0;
  let lastWasCr = false;

  const take = (tail: Uint8Array, complete: boolean): SseEvent => {
    const raw = pending.length === 0 ? tail : concat([...pending, tail], pendingBytes + tail.byteLength);
    pending = [];
    pendingBytes = 0;
    return new SseEvent(raw, complete);
  };

  return {
    push(chunk) {
      const events: SseEvent[] = [];
      let eventStart = 0;
      let from = 0;
      for (;;) {
        const lf = chunk.indexOf(LF, from);
        if (lf === -1) break;
        const length = lineBytes + (lf - from);
        const endsWithCr = lf > from ? chunk[lf - 1] === CR : lastWasCr;
        // A blank line (nothing, or only the CR of a CRLF) ends the event.
        if (length === 0 || (length === 1 && endsWithCr)) {
          events.push(take(chunk.subarray(eventStart, lf + 1), true));
          eventStart = lf + 1;
        }
        lineBytes = 0;
        lastWasCr = false;
        from = lf + 1;
      }
      if (from < chunk.byteLength) {
        lineBytes += chunk.byteLength - from;
        lastWasCr = chunk[chunk.byteLength - 1] === CR;
      }
      if (eventStart < chunk.byteLength) {
        pending.push(chunk.subarray(eventStart));
        pendingBytes += chunk.byteLength - eventStart;
      }
      return events;
    },
    end() {
      if (pendingBytes === 0) return null;
      lineBytes = 0;
      lastWasCr = false;
      return take(new Uint8Array(0), false);
    },
    get pendingBytes() {
      return pendingBytes;
    },
  };
}

/** One SSE event as bytes: each line of `data` as a `data:` line, after an `event:` line when given. */
export function formatSseEvent(data: string, type?: string): Uint8Array {
  return encoder.encode(formatSseText(data, type));
}

/** The same as text, for callers that build several events before encoding them once. */
export function formatSseText(data: string, type?: string): string {
  const lines = data.split("\n").map((line) => `data: ${line}\n`);
  return `${type === undefined ? "" : `event: ${type}\n`}${lines.join("")}\n`;
}

/**
 * The error an event's data carries, as the data's JSON text: `{"error": …}` (vLLM and SGLang inside a
 * stream) or a flat `{"object": "error", …}`. Null for any other event.
 */
export function eventError(event: SseEvent): string | null {
  const data = event.data;
  if (data === null || !/^\s*\{\s*"(error|object)"/.test(data)) return null;
  try {
    const parsed = JSON.parse(data) as Record<string, unknown> | null;
    if (typeof parsed !== "object" || parsed === null) return null;
    return (parsed.error !== undefined && parsed.error !== null) || parsed.object === "error" ? data : null;
  } catch {
    return null;
  }
}

/**
 * Whether an event ends with Chutes' bare error line: chutes-api writes `{"error":"Unhandled exception during
 * response stream: …"}` (no `data:`) into a committed stream and then closes it normally
 * (research/COVERAGE_MATRIX.md), which SSE clients would silently skip.
 */
export function endsWithBareError(event: SseEvent): boolean {
  const lines = event.text.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] as string).trim();
    if (line !== "") return /^\{\s*"error"\s*:/.test(line);
  }
  return false;
}

/**
 * Whether an event carries content, the only thing that may commit a hedged race (docs/contract.md §13): data
 * that is not `[DONE]` and not an error, and for an OpenAI chunk text, reasoning or a tool call in some choice.
 * Comments, role-only and usage-only chunks do not. Data that is not JSON, or JSON of another shape, counts
 * as content: the router does not judge what it does not know.
 */
export function isContentEvent(event: SseEvent): boolean {
  const data = event.data;
  if (data === null) return false;
  const payload = data.trim();
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

/** The chunks as one array (`total` their length); the single chunk itself when there is one. */
export function concat(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total ?? chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
