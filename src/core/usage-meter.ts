// What an answer used, for spend and token limits (docs/contract.md §15): the upstream's own `usage` when it
// sent one (a JSON body's, or the final usage chunk Chutes adds to every stream), else an estimate from what
// the client received, so a cancelled or usage-less stream is never charged zero. The relay hands over the
// end of the upstream body and a count of its SSE data events; nothing here runs per chunk.
import { type TokenUsage, usageOf } from "./spend.ts";

/** What the relay saw of an upstream body by its end. */
export interface StreamTally {
  /** The body's last bytes, one char per byte (usage JSON and SSE framing are ASCII). */
  tail: string;
  /** `data:` lines received: one per chunk, and vLLM streams about one token per chunk. */
  dataEvents: number;
  bytes: number;
}

export interface MeteredUsage extends TokenUsage {
  /** True when the upstream gave no usage and the counts are the router's estimate. */
  estimated: boolean;
}

/** How many tokens a text of `bytes` bytes is taken for when nothing better is known: one per four bytes. */
export function estimateTokens(bytes: number): number {
  return Math.ceil(bytes / 4);
}

/**
 * The answer's usage: the upstream's when the tail carries it, else prompt tokens as estimated from the
 * request and completion tokens as one per data event of a stream (the role and usage chunks aside) or one
 * per four bytes of a JSON body.
 */
export function meterUsage(tally: StreamTally, eventStream: boolean, promptEstimate: number): MeteredUsage {
  const reported = eventStream ? usageInSseTail(tally.tail) : usageInJsonTail(tally.tail);
  if (reported) return { ...reported, estimated: false };
  const completionTokens = eventStream ? Math.max(0, tally.dataEvents - 1) : estimateTokens(tally.bytes);
  return { promptTokens: promptEstimate, completionTokens, cachedTokens: 0, estimated: true };
}

/** The usage of the last `data:` line in an SSE tail that carries one. */
export function usageInSseTail(tail: string): TokenUsage | null {
  const lines = tail.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] as string).trim();
    if (!line.startsWith("data:") || !line.includes('"usage"')) continue;
    try {
      const usage = usageOf((JSON.parse(line.slice(5)) as { usage?: unknown }).usage);
      if (usage) return usage;
    } catch {
      // A line cut at the tail's start, or not JSON: look further back.
    }
  }
  return null;
}

/** The usage object of a JSON body's tail: the last `"usage":{…}` whose braces close. */
export function usageInJsonTail(tail: string): TokenUsage | null {
  const key = tail.lastIndexOf('"usage"');
  if (key === -1) return null;
  const open = tail.indexOf("{", key);
  if (open === -1) return null;
  let depth = 0;
  for (let i = open; i < tail.length; i++) {
    const char = tail[i];
    if (char === "{") depth++;
    else if (char === "}" && --depth === 0) {
      try {
        return usageOf(JSON.parse(tail.slice(open, i + 1)));
      } catch {
        return null;
      }
    }
  }
  return null;
}

const D = 0x64;
const A = 0x61;
const T = 0x74;
const COLON = 0x3a;
const NEWLINE = 0x0a;

/**
 * `data:` lines that start in `chunk`. `atLineStart` says whether the previous chunk ended a line; the
 * answer's second value says whether this one does. A `data:` split across chunks is missed, which only
 * lowers an estimate by one.
 */
export function countDataLines(chunk: Uint8Array, atLineStart: boolean): [number, boolean] {
  let count = 0;
  let lineStart = atLineStart;
  const end = chunk.length;
  for (let i = 0; i < end; i++) {
    const byte = chunk[i];
    if (byte === NEWLINE) {
      lineStart = true;
      continue;
    }
    if (
      lineStart &&
      byte === D &&
      chunk[i + 1] === A &&
      chunk[i + 2] === T &&
      chunk[i + 3] === A &&
      chunk[i + 4] === COLON
    )
      count++;
    lineStart = false;
  }
  return [count, lineStart];
}
