// The frames a translated protocol's stream writes (src/protocols/framed-stream.ts), read back for tests: each
// is exactly an `event:` line naming the data's `type` and one `data:` line of JSON, ending in a blank line.
import { expect } from "vitest";

export interface Frame {
  event: string;
  data: Record<string, unknown>;
}

/** Splits SSE output into frames, checking each one's shape; `eventName` is what event names look like. */
export function parseFrames(output: Uint8Array, eventName: RegExp): Frame[] {
  const text = new TextDecoder().decode(output);
  expect(text === "" || text.endsWith("\n\n")).toBe(true);
  return text
    .split("\n\n")
    .filter((frame) => frame !== "")
    .map((frame) => {
      const [eventLine = "", dataLine = "", ...rest] = frame.split("\n");
      expect(rest).toEqual([]);
      expect(dataLine).toMatch(/^data: \{/);
      const event = eventLine.slice("event: ".length);
      expect(eventLine).toBe(`event: ${event}`);
      expect(event).toMatch(eventName);
      const data = JSON.parse(dataLine.slice("data: ".length)) as Record<string, unknown>;
      expect(data.type).toBe(event);
      return { event, data };
    });
}
