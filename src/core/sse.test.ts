import { describe, expect, it } from "vitest";
import { endsAtEventBoundary, endsWithBareErrorLine, isEventStream } from "./sse.ts";

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
