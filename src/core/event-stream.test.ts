import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  concat,
  createSseReader,
  endsWithBareError,
  eventError,
  formatSseEvent,
  isContentEvent,
  isEventStream,
  type SseEvent,
} from "./event-stream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const STREAM =
  ": keep-alive\n\n" +
  'data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"Hé"}}]}\n\n' +
  "event: note\r\ndata: two\r\ndata: lines\r\n\r\n" +
  'data: {"id":"c","choices":[],"usage":{"prompt_tokens":3}}\n\n' +
  "data: [DONE]\n\n";

/** Reads `bytes` cut at `cuts`, the unterminated rest included. */
function read(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const reader = createSseReader();
  const bounds = [0, ...[...new Set(cuts)].sort((a, b) => a - b), bytes.byteLength];
  const events = bounds.slice(1).flatMap((end, i) => reader.push(bytes.subarray(bounds[i], end)));
  const rest = reader.end();
  return rest ? [...events, rest] : events;
}

describe("createSseReader", () => {
  it("gives the same events, byte for byte, however the stream is cut", () => {
    const bytes = encoder.encode(STREAM);
    const whole = read(bytes, []);
    expect(whole.map((event) => event.data)).toEqual([
      null,
      '{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"Hé"}}]}',
      "two\nlines",
      '{"id":"c","choices":[],"usage":{"prompt_tokens":3}}',
      "[DONE]",
    ]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bytes.byteLength }), { maxLength: 12 }), (cuts) => {
        const events = read(bytes, cuts);
        expect(events.map((event) => event.data)).toEqual(whole.map((event) => event.data));
        expect(decoder.decode(concat(events.map((event) => event.raw)))).toBe(STREAM);
      }),
    );
  });

  it("reads every single-byte cut of the stream alike", () => {
    const bytes = encoder.encode(STREAM);
    for (let cut = 0; cut <= bytes.byteLength; cut++)
      expect(read(bytes, [cut]).map((event) => event.text)).toEqual(
        read(bytes, []).map((event) => event.text),
      );
  });

  it("names the event type and tells data events apart without decoding", () => {
    const [comment, chunk, note] = read(encoder.encode(STREAM), []);
    expect(comment?.startsWithData).toBe(false);
    expect(chunk?.startsWithData).toBe(true);
    expect(note?.type).toBe("note");
    expect(note?.startsWithData).toBe(false);
  });

  it("hands over what is left when the stream ends without a blank line, and nothing when it does not", () => {
    const reader = createSseReader();
    expect(reader.push(encoder.encode("data: a\n\ndata: b"))).toHaveLength(1);
    expect(reader.pendingBytes).toBe(7);
    const rest = reader.end();
    expect(rest).toMatchObject({ complete: false, data: "b" });
    expect(reader.end()).toBeNull();
  });

  it("keeps an event's bytes without copying when one chunk holds it whole", () => {
    const chunk = encoder.encode("data: a\n\n");
    const [event] = createSseReader().push(chunk);
    expect(event?.raw.buffer).toBe(chunk.buffer);
  });
});

describe("formatSseEvent", () => {
  it("writes an event the reader reads back, lines of data and its type kept", () => {
    const [event] = createSseReader().push(formatSseEvent('{"a":1}\nsecond', "message_start"));
    expect(event).toMatchObject({ type: "message_start", data: '{"a":1}\nsecond', complete: true });
  });
});

describe("eventError", () => {
  const event = (text: string) => read(encoder.encode(text), [])[0] as SseEvent;

  it.each([
    ['data: {"error":{"message":"The input (50 tokens) is longer than …"}}\n\n', true],
    ['data: {"object":"error","message":"x","code":400}\n\n', true],
    ['data: {"error":null,"choices":[]}\n\n', false],
    ['data: {"choices":[{"delta":{"content":"error"}}]}\n\n', false],
    ["data: [DONE]\n\n", false],
    ['{"error":"bare line"}\n', false],
  ])("%j → %s", (text, expected) => {
    expect(eventError(event(text)) !== null).toBe(expected);
  });
});

describe("endsWithBareError", () => {
  it.each([
    ['{"error":"Unhandled exception during response stream: boom"}', true],
    ['{ "error" : "x"}\n', true],
    ['data: {"a":1}\n{"error":"x"}\n\n', true],
    ["data: [DONE]\n\n", false],
    ['data: {"error":{"message":"x"}}\n\n', false],
  ])("%j → %s", (text, expected) => {
    expect(endsWithBareError(read(encoder.encode(text), []).at(-1) as SseEvent)).toBe(expected);
  });
});

describe("isContentEvent", () => {
  const chunk = (choices: unknown[]) => `data: ${JSON.stringify({ id: "x", choices })}\n\n`;
  it.each([
    [": keep-alive\n\n", false],
    ["event: ping\n\n", false],
    ["data: [DONE]\n\n", false],
    ['data: {"error":{"message":"overloaded"}}\n\n', false],
    [chunk([{ index: 0, delta: { role: "assistant" } }]), false],
    [chunk([{ index: 0, delta: { role: "assistant", content: "" } }]), false],
    [chunk([]), false],
    [chunk([{ index: 0, delta: { content: "Hi" } }]), true],
    [chunk([{ index: 0, delta: { reasoning_content: "Let me think" } }]), true],
    [chunk([{ index: 0, delta: { reasoning: "Let me think" } }]), true],
    [chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: "Bash" } }] } }]), true],
    [chunk([{ index: 0, text: "Once" }]), true],
    ["data: not json at all\n\n", true],
  ])("%j → %s", (text, expected) => {
    expect(isContentEvent(read(encoder.encode(text), [])[0] as SseEvent)).toBe(expected);
  });
});

describe("isEventStream", () => {
  it.each([
    ["text/event-stream", true],
    ["text/event-stream; charset=utf-8", true],
    ["Text/Event-Stream", true],
    ["application/json", false],
    [null, false],
  ])("%j → %s", (contentType, expected) => {
    expect(isEventStream(contentType)).toBe(expected);
  });
});
