import { describe, expect, it } from "vitest";
import { createSseReader, type SseEvent } from "./event-stream.ts";
import {
  estimateTokens,
  meterUsage,
  type StreamTally,
  usageInEvents,
  usageInJsonTail,
} from "./usage-meter.ts";

function sseEvent(payload: unknown): string {
  return `data: ${typeof payload === "string" ? payload : JSON.stringify(payload)}\n\n`;
}

function contentChunk(text: string): string {
  return sseEvent({
    id: "c1",
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta: { content: text } }],
  });
}

const usageChunk = (prompt: number, completion: number, cached?: number) =>
  sseEvent({
    id: "c1",
    object: "chat.completion.chunk",
    choices: [],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      ...(cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: cached } }),
    },
  });

/** A stream's events as the relay reads them, the unterminated last one included. */
function eventsOf(text: string): SseEvent[] {
  const reader = createSseReader();
  const events = reader.push(new TextEncoder().encode(text));
  const rest = reader.end();
  return rest ? [...events, rest] : events;
}

const estimated = (dataEvents: number, bytes = 0): StreamTally => ({ usage: null, dataEvents, bytes });

describe("usage of a stream", () => {
  const stream =
    sseEvent({ choices: [{ index: 0, delta: { role: "assistant" } }] }) +
    contentChunk("Hello") +
    contentChunk(" world") +
    usageChunk(31, 7, 16) +
    sseEvent("[DONE]");

  it("takes the upstream's counts from the final usage chunk before [DONE]", () => {
    const usage = usageInEvents(eventsOf(stream));
    expect(usage).toEqual({ promptTokens: 31, completionTokens: 7, cachedTokens: 16 });
    expect(meterUsage({ usage, dataEvents: 5, bytes: 0 }, true, 999)).toEqual({
      promptTokens: 31,
      completionTokens: 7,
      cachedTokens: 16,
      estimated: false,
    });
  });

  it("estimates when the stream broke off inside its usage chunk", () => {
    const events = eventsOf(contentChunk("a") + contentChunk("b") + usageChunk(4, 2).slice(0, 90));
    expect(events.at(-1)?.complete).toBe(false);
    expect(usageInEvents(events)).toBeNull();
    expect(meterUsage(estimated(3), true, 9)).toEqual({
      promptTokens: 9,
      completionTokens: 2,
      cachedTokens: 0,
      estimated: true,
    });
  });

  it("takes the last usage when several chunks carry one", () => {
    const events = eventsOf(usageChunk(1, 1) + contentChunk("x") + usageChunk(10, 20) + sseEvent("[DONE]"));
    expect(usageInEvents(events)).toEqual({ promptTokens: 10, completionTokens: 20, cachedTokens: 0 });
  });

  it("skips chunks whose usage is null", () => {
    const events = eventsOf(
      usageChunk(12, 3) +
        sseEvent({ choices: [{ index: 0, delta: { content: "!" } }], usage: null }) +
        sseEvent("[DONE]"),
    );
    expect(usageInEvents(events)).toEqual({ promptTokens: 12, completionTokens: 3, cachedTokens: 0 });
  });

  it("reads CRLF-framed events", () => {
    const events = eventsOf((usageChunk(8, 9) + sseEvent("[DONE]")).replaceAll("\n", "\r\n"));
    expect(usageInEvents(events)).toEqual({ promptTokens: 8, completionTokens: 9, cachedTokens: 0 });
  });

  it("estimates one completion token per data event beyond the first, and the prompt from the request", () => {
    expect(meterUsage(estimated(4), true, 120)).toEqual({
      promptTokens: 120,
      completionTokens: 3,
      cachedTokens: 0,
      estimated: true,
    });
  });

  it("estimates no completion tokens for a stream cut before any data", () => {
    expect(meterUsage(estimated(0), true, 50)).toEqual({
      promptTokens: 50,
      completionTokens: 0,
      cachedTokens: 0,
      estimated: true,
    });
  });
});

describe("usage of a JSON body", () => {
  const body = JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", content: "Hi {there}" }, finish_reason: "stop" }],
    usage: {
      prompt_tokens: 21,
      completion_tokens: 5,
      total_tokens: 26,
      prompt_tokens_details: { cached_tokens: 8 },
    },
  });

  it("takes the upstream's counts from the usage object, nested details included", () => {
    const usage = usageInJsonTail(body);
    expect(meterUsage({ usage, dataEvents: 0, bytes: body.length }, false, 999)).toEqual({
      promptTokens: 21,
      completionTokens: 5,
      cachedTokens: 8,
      estimated: false,
    });
  });

  it("finds the usage object in a tail that starts mid-body", () => {
    const tail = body.slice(body.indexOf("there"));
    expect(usageInJsonTail(tail)).toEqual({ promptTokens: 21, completionTokens: 5, cachedTokens: 8 });
  });

  it("estimates a token per four bytes of the body when the usage object is missing or cut", () => {
    const noUsage = JSON.stringify({ choices: [{ message: { content: "x".repeat(400) } }] });
    expect(usageInJsonTail(noUsage.slice(-100))).toBeNull();
    expect(meterUsage(estimated(0, 4_001), false, 70)).toEqual({
      promptTokens: 70,
      completionTokens: 1_001,
      cachedTokens: 0,
      estimated: true,
    });
    expect(usageInJsonTail(body.slice(0, body.length - 3))).toBeNull();
  });

  it("finds no usage when it is null", () => {
    expect(usageInJsonTail('{"choices":[{"message":{"content":"ok"}}],"usage":null}')).toBeNull();
  });

  it("rounds the byte estimate up", () => {
    expect(estimateTokens(0)).toBe(0);
    expect(estimateTokens(1)).toBe(1);
    expect(estimateTokens(4)).toBe(1);
    expect(estimateTokens(5)).toBe(2);
  });
});
