import { describe, expect, it } from "vitest";
import {
  countDataLines,
  estimateTokens,
  meterUsage,
  type StreamTally,
  usageInJsonTail,
  usageInSseTail,
} from "./usage-meter.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

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

const tally = (tail: string, dataEvents = 0, size = tail.length): StreamTally => ({
  tail,
  dataEvents,
  bytes: size,
});

describe("usage of a stream", () => {
  const stream =
    sseEvent({ choices: [{ index: 0, delta: { role: "assistant" } }] }) +
    contentChunk("Hello") +
    contentChunk(" world") +
    usageChunk(31, 7, 16) +
    sseEvent("[DONE]");

  it("takes the upstream's counts from the final usage chunk before [DONE]", () => {
    expect(meterUsage(tally(stream, 5), true, 999)).toEqual({
      promptTokens: 31,
      completionTokens: 7,
      cachedTokens: 16,
      estimated: false,
    });
  });

  it("finds the usage chunk when the tail cut the start of an earlier line", () => {
    const tail = stream.slice(stream.indexOf("world") - 3);
    expect(tail.startsWith("data:")).toBe(false);
    expect(usageInSseTail(tail)).toEqual({ promptTokens: 31, completionTokens: 7, cachedTokens: 16 });
  });

  it("estimates when the stream broke off inside its usage chunk", () => {
    const tail = contentChunk("a") + contentChunk("b") + usageChunk(4, 2).slice(0, 90);
    expect(tail).toContain('"usage"');
    expect(usageInSseTail(tail)).toBeNull();
    expect(meterUsage(tally(tail, 3), true, 9)).toEqual({
      promptTokens: 9,
      completionTokens: 2,
      cachedTokens: 0,
      estimated: true,
    });
  });

  it("takes the last usage when several chunks carry one", () => {
    const tail = usageChunk(1, 1) + contentChunk("x") + usageChunk(10, 20) + sseEvent("[DONE]");
    expect(usageInSseTail(tail)).toEqual({ promptTokens: 10, completionTokens: 20, cachedTokens: 0 });
  });

  it("skips chunks whose usage is null", () => {
    const tail =
      usageChunk(12, 3) +
      sseEvent({ choices: [{ index: 0, delta: { content: "!" } }], usage: null }) +
      sseEvent("[DONE]");
    expect(usageInSseTail(tail)).toEqual({ promptTokens: 12, completionTokens: 3, cachedTokens: 0 });
  });

  it("reads CRLF-framed events", () => {
    const tail = usageChunk(8, 9).replaceAll("\n", "\r\n") + sseEvent("[DONE]").replaceAll("\n", "\r\n");
    expect(usageInSseTail(tail)).toEqual({ promptTokens: 8, completionTokens: 9, cachedTokens: 0 });
  });

  it("estimates one completion token per data event beyond the first, and the prompt from the request", () => {
    const noUsage =
      sseEvent({ choices: [{ index: 0, delta: { role: "assistant" } }] }) +
      contentChunk("a") +
      contentChunk("b") +
      contentChunk("c");
    expect(meterUsage(tally(noUsage, 4), true, 120)).toEqual({
      promptTokens: 120,
      completionTokens: 3,
      cachedTokens: 0,
      estimated: true,
    });
  });

  it("estimates when the usage chunk itself lost its start to the tail's cut", () => {
    const chunk = usageChunk(31, 7);
    const tail = chunk.slice(10) + sseEvent("[DONE]");
    expect(usageInSseTail(tail)).toBeNull();
    expect(meterUsage(tally(tail, 60), true, 40)).toEqual({
      promptTokens: 40,
      completionTokens: 59,
      cachedTokens: 0,
      estimated: true,
    });
  });

  it("estimates no completion tokens for a stream cut before any data", () => {
    expect(meterUsage(tally("", 0), true, 50)).toEqual({
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
    expect(meterUsage(tally(body), false, 999)).toEqual({
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
    expect(meterUsage(tally(noUsage.slice(-100), 0, 4_001), false, 70)).toEqual({
      promptTokens: 70,
      completionTokens: 1_001,
      cachedTokens: 0,
      estimated: true,
    });
    const cut = body.slice(0, body.length - 3);
    expect(usageInJsonTail(cut)).toBeNull();
    expect(meterUsage(tally(cut, 0, 400), false, 70).completionTokens).toBe(100);
  });

  it("estimates when usage is null", () => {
    const tail = '{"choices":[{"message":{"content":"ok"}}],"usage":null}';
    expect(usageInJsonTail(tail)).toBeNull();
    expect(meterUsage(tally(tail), false, 3).estimated).toBe(true);
  });

  it("rounds the byte estimate up", () => {
    expect(estimateTokens(0)).toBe(0);
    expect(estimateTokens(1)).toBe(1);
    expect(estimateTokens(4)).toBe(1);
    expect(estimateTokens(5)).toBe(2);
  });
});

describe("counting data lines", () => {
  it("counts each data line of a chunk", () => {
    const chunk = contentChunk("a") + contentChunk("b") + sseEvent("[DONE]");
    expect(countDataLines(bytes(chunk), true)).toEqual([3, true]);
  });

  it("ignores data: that does not start a line", () => {
    const chunk = `${sseEvent({ text: "data: inside a string" })}: comment data: here\nevent: x data:\n`;
    expect(countDataLines(bytes(chunk), true)).toEqual([1, true]);
  });

  it("counts a line that starts the next chunk when the previous chunk ended its line", () => {
    const [first, atLineStart] = countDataLines(bytes("data: a\n\ndata: b\n"), true);
    expect([first, atLineStart]).toEqual([2, true]);
    expect(countDataLines(bytes("data: c\n\n"), atLineStart)).toEqual([1, true]);
  });

  it("does not count data: at the start of a chunk that continues the previous chunk's line", () => {
    const [first, atLineStart] = countDataLines(bytes('data: {"text":"'), true);
    expect([first, atLineStart]).toEqual([1, false]);
    expect(countDataLines(bytes('data: looks like a line"}\n\ndata: x\n'), atLineStart)).toEqual([1, true]);
  });

  it("respects the caller's word on the first chunk's line start", () => {
    expect(countDataLines(bytes("data: a"), true)).toEqual([1, false]);
    expect(countDataLines(bytes("data: a"), false)).toEqual([0, false]);
  });

  it("counts every event of a stream cut inside and between its lines", () => {
    const events = [...Array.from({ length: 40 }, (_, i) => contentChunk(`token ${i}`)), sseEvent("[DONE]")];
    const pieces = events.flatMap((event) => {
      const cut = Math.min(20, event.length - 1);
      return [event.slice(0, cut), event.slice(cut, -1), event.slice(-1)];
    });
    expect(pieces.join("")).toBe(events.join(""));
    let total = 0;
    let atLineStart = true;
    for (const piece of pieces) {
      const [count, next] = countDataLines(bytes(piece), atLineStart);
      total += count;
      atLineStart = next;
    }
    expect(total).toBe(41);
  });
});
