import { describe, expect, it } from "vitest";
import { traceContext } from "./trace-context.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("traceContext", () => {
  it("continues a client's trace with a span of its own and the client's flags", () => {
    const trace = traceContext(`00-${TRACE}-00f067aa0ba902b7-00`);
    expect(trace.traceId).toBe(TRACE);
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.spanId).not.toBe("00f067aa0ba902b7");
    expect(trace.traceparent).toBe(`00-${TRACE}-${trace.spanId}-00`);
  });

  it("starts a new trace when the header is missing or invalid", () => {
    for (const header of [
      null,
      "garbage",
      `ff-${TRACE}-00f067aa0ba902b7-01`,
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `00-${TRACE}-${"0".repeat(16)}-01`,
      `00-${TRACE}-00f067aa0ba902b7-01-extra`,
    ]) {
      const trace = traceContext(header);
      expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(trace.traceId).not.toBe(TRACE);
      expect(trace.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    }
  });

  it("accepts a later version's extra fields, and upper-case hex", () => {
    expect(traceContext(`01-${TRACE.toUpperCase()}-00F067AA0BA902B7-01-more`).traceId).toBe(TRACE);
  });
});
