// The relay's protocol hooks: a second protocol re-frames the stream and ends it with its own error event
// through the same relay (StreamFraming), while OpenAI's framing relays bytes untouched.
import { describe, expect, it } from "vitest";
import type { StreamEnd } from "../core/outcome.ts";
import { relayBody, type StreamFraming } from "./relay.ts";

const encoder = new TextEncoder();

/** An upstream body that sends `chunks`, then closes cleanly or breaks. */
function upstream(chunks: string[], ending: "close" | "break"): ReadableStreamDefaultReader<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
      else if (ending === "close") controller.close();
      else controller.error(new Error("connection reset"));
    },
  }).getReader();
}

async function relay(chunks: string[], ending: "close" | "break", framing: StreamFraming) {
  const reader = upstream(chunks, ending);
  const first = await reader.read();
  let end: StreamEnd | null = null;
  const body = relayBody(first.value as Uint8Array, reader, {
    idleTimeoutMs: 5000,
    isEventStream: true,
    framing,
    abortUpstream: () => {},
    onEnd: (how) => {
      end = how;
    },
  });
  return { text: await new Response(body).text(), end };
}

/** Re-frames each data event as an `event: line` frame. */
function lineFraming(): StreamFraming {
  return {
    transform: (events) =>
      encoder.encode(
        events
          .filter((event) => event.data !== null)
          .map((event) => `event: line\ndata: ${event.data}\n\n`)
          .join(""),
      ),
    finish: () => encoder.encode("event: done\n\n"),
    errorEvent: (message) => encoder.encode(`event: error\ndata: ${message}\n\n`),
  };
}

describe("relayBody framing", () => {
  it("relays bytes untouched when the protocol has no transform", async () => {
    const passthrough: StreamFraming = {
      transform: null,
      finish: null,
      errorEvent: () => encoder.encode("x"),
    };
    const { text, end } = await relay(["data: a\n\n", "data: b\n", "\n"], "close", passthrough);
    expect(text).toBe("data: a\n\ndata: b\n\n");
    expect(end).toBe("complete");
  });

  it("re-frames events through the protocol's transform, whatever their chunks' boundaries, and adds its closing bytes", async () => {
    const { text, end } = await relay(["data: al", "pha\n\ndata: be", "", "ta\n\n"], "close", lineFraming());
    expect(text).toBe("event: line\ndata: alpha\n\nevent: line\ndata: beta\n\nevent: done\n\n");
    expect(end).toBe("complete");
  });

  it("ends a broken stream with the protocol's own error event", async () => {
    const { text, end } = await relay(["data: alpha\n\n", "data: par"], "break", lineFraming());
    expect(text).toBe("event: line\ndata: alpha\n\nevent: error\ndata: The upstream stream failed\n\n");
    expect(end).toBe("upstream_error");
  });
});
