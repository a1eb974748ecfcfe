// What an answer used, for spend and token limits (docs/contract.md §15): the upstream's own `usage` when it
// sent one (a JSON body's, or the final usage chunk Chutes adds to every stream), else an estimate from what
// the client received, so a cancelled or usage-less stream is never charged zero. The relay counts a stream's
// data events as they pass and reads the usage of its last few once, at the end.
import type { SseEvent } from "./event-stream.ts";
import { type TokenUsage, usageOf } from "./spend.ts";

/** What the relay saw of an upstream body by its end. */
export interface StreamTally {
  /** The upstream's own usage: a stream's last usage chunk, or a JSON body's usage object; null when none. */
  usage: TokenUsage | null;
  /** Data events received: one per chunk, and vLLM streams about one token per chunk. */
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
 * The answer's usage: the upstream's when it reported one, else prompt tokens as estimated from the request
 * and completion tokens as one per data event of a stream (the role and usage chunks aside) or one per four
 * bytes of a JSON body.
 */
export function meterUsage(tally: StreamTally, eventStream: boolean, promptEstimate: number): MeteredUsage {
  if (tally.usage) return { ...tally.usage, estimated: false };
  const completionTokens = eventStream ? Math.max(0, tally.dataEvents - 1) : estimateTokens(tally.bytes);
  return { promptTokens: promptEstimate, completionTokens, cachedTokens: 0, estimated: true };
}

/** The usage of the last data event that carries one (the events in stream order). */
export function usageInEvents(events: readonly SseEvent[]): TokenUsage | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const data = (events[i] as SseEvent).data;
    if (data === null || !data.includes('"usage"')) continue;
    try {
      const usage = usageOf((JSON.parse(data) as { usage?: unknown }).usage);
      if (usage) return usage;
    } catch {
      // Not JSON (a stream cut inside its usage chunk): look further back.
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
