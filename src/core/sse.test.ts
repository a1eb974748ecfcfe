import { describe, expect, it } from "vitest";
import { endsAtEventBoundary, endsWithBareErrorLine, formatStreamErrorEvent, isEventStream } from "./sse.ts";

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

describe("formatStreamErrorEvent", () => {
  it("is one complete SSE event carrying an OpenAI error with code upstream_stream_error", () => {
    const event = formatStreamErrorEvent("stalled", false);
    expect(event.endsWith("\n\n")).toBe(true);
    expect(JSON.parse(event.replace(/^data: /, ""))).toEqual({
      error: { message: "stalled", type: "upstream_error", param: null, code: "upstream_stream_error" },
    });
  });

  it("starts on a fresh line when the stream stopped mid-event", () => {
    expect(formatStreamErrorEvent("x", true).startsWith("\n\ndata: ")).toBe(true);
  });
});

describe("endsWithBareErrorLine", () => {
  it.each([
    ['data: {"choices":[]}\n\n{"error":"Unhandled exception during response stream: boom"}', true],
    ['data: {"a":1}\n\n{ "error" : "x"}\n', true],
    ['{"error":"x"}', true],
    ['data: {"choices":[]}\n\ndata: [DONE]\n\n', false],
    ['data: {"error":{"message":"x"}}\n\n', false],
    ["", false],
  ])("%j → %s", (tail, expected) => {
    expect(endsWithBareErrorLine(tail)).toBe(expected);
  });
});

describe("endsAtEventBoundary", () => {
  it("sees a blank line as the end of an event", () => {
    expect(endsAtEventBoundary("data: x\n\n")).toBe(true);
    expect(endsAtEventBoundary("data: x\r\n\r\n")).toBe(true);
    expect(endsAtEventBoundary("data: x\n")).toBe(false);
  });
});
