import { describe, expect, it } from "vitest";
import { endsAtEventBoundary, endsWithBareErrorLine, isContentLine, isEventStream } from "./sse.ts";

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

describe("isContentLine", () => {
  const chunk = (choices: unknown[]) => `data: ${JSON.stringify({ id: "x", choices })}`;
  it.each([
    [": keep-alive", false],
    ["", false],
    ["event: ping", false],
    ["data: [DONE]", false],
    ['data: {"error":{"message":"overloaded"}}', false],
    [chunk([{ index: 0, delta: { role: "assistant" } }]), false],
    [chunk([{ index: 0, delta: { role: "assistant", content: "" } }]), false],
    [chunk([]), false],
    [chunk([{ index: 0, delta: { content: "Hi" } }]), true],
    [chunk([{ index: 0, delta: { reasoning_content: "Let me think" } }]), true],
    [chunk([{ index: 0, delta: { reasoning: "Let me think" } }]), true],
    [chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: "Bash" } }] } }]), true],
    [chunk([{ index: 0, text: "Once" }]), true],
    ["data: not json at all", true],
  ])("%j → %s", (line, expected) => {
    expect(isContentLine(line)).toBe(expected);
  });
});
