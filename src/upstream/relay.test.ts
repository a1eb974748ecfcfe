// The relay's protocol hooks: a second protocol re-frames the stream and ends it with its own error event
// through the same relay (StreamFraming), while OpenAI's framing relays bytes untouched. And an answer that
// spans attempts: a part that breaks continued by the next one, which the client gets as one answer.
import { describe, expect, it } from "vitest";
import { createContentAccumulator } from "../core/answer-content.ts";
import type { PartEnd, StreamEnd } from "../core/outcome.ts";
import { type Continuation, relayBody, type StreamFraming, type UpstreamPart } from "./relay.ts";

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

/** An upstream attempt's part: its first chunk read, the rest to come. */
async function partOf(
  chunks: string[],
  ending: "close" | "break",
  aborted: string[] = [],
): Promise<UpstreamPart> {
  const reader = upstream(chunks, ending);
  const first = await reader.read();
  return { first: first.value as Uint8Array, reader, abort: (reason) => aborted.push(reason) };
}

async function relay(chunks: string[], ending: "close" | "break", framing: StreamFraming) {
  let end: StreamEnd | null = null;
  const body = relayBody(await partOf(chunks, ending), {
    idleTimeoutMs: 5000,
    isEventStream: true,
    framing,
    onEnd: (parts) => {
      end = parts.at(-1)?.end ?? null;
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

const OPENAI_BYTES: StreamFraming = {
  transform: null,
  finish: null,
  errorEvent: (message, midEvent) =>
    encoder.encode(`${midEvent ? "\n\n" : ""}data: {"error":"${message}"}\n\n`),
};

const chunk = (content: string) =>
  `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${content}"}}]}\n\n`;
const ANSWER = [
  chunk("The "),
  chunk("answer "),
  chunk("is "),
  chunk("forty-two."),
  'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}}\n\n',
  "data: [DONE]\n\n",
];

/** Relays `first`, continued by what `continueWith` gives; returns what the client read and every part. */
async function relayParts(first: UpstreamPart, continueWith: Continuation, framing = OPENAI_BYTES) {
  let ends: readonly PartEnd[] = [];
  let calls = 0;
  const content = createContentAccumulator();
  const body = relayBody(first, {
    idleTimeoutMs: 5000,
    isEventStream: true,
    framing,
    subscribers: [content],
    continueWith,
    onEnd: (parts) => {
      calls += 1;
      ends = parts;
    },
  });
  const text = await new Response(body).text();
  return { text, ends, calls: () => calls, content: content.snapshot() };
}

describe("an answer that spans attempts", () => {
  it("gives an OpenAI client the second attempt's events after the first's, byte for byte", async () => {
    // The first attempt breaks inside its third event; the second picks the answer up from that event.
    const broken = [ANSWER[0] as string, `${ANSWER[1]}${(ANSWER[2] as string).slice(0, 25)}`];
    const aborted: string[] = [];
    const seen: number[] = [];
    const { text, ends, content } = await relayParts(
      await partOf(broken, "break", aborted),
      async (sofar) => {
        seen.push(sofar.length);
        return partOf(ANSWER.slice(2), "close");
      },
    );
    expect(text).toBe(ANSWER.join(""));
    expect(seen).toEqual([1]);
    expect(aborted).toEqual(["upstream_error"]);
    expect(ends.map((part) => part.end)).toEqual(["upstream_error", "complete"]);
    // The event the first attempt broke inside was generated upstream, so it is metered, though never sent.
    expect(ends.map((part) => part.tally.dataEvents)).toEqual([3, 4]);
    expect(ends[1]?.tally.usage).toMatchObject({ promptTokens: 9, completionTokens: 4 });
    expect(content).toMatchObject({ text: "The answer is forty-two.", truncated: false });
  });

  it("re-frames every part through the protocol's one transform, so its client sees one stream", async () => {
    const { text, ends } = await relayParts(
      await partOf(["data: alpha\n\n"], "break"),
      () => partOf(["data: beta\n\n"], "close"),
      lineFraming(),
    );
    expect(text).toBe("event: line\ndata: alpha\n\nevent: line\ndata: beta\n\nevent: done\n\n");
    expect(ends.map((part) => part.end)).toEqual(["upstream_error", "complete"]);
  });

  it("ends with the error event, and never half an event, when no attempt continues it", async () => {
    const broken = [ANSWER[0] as string, (ANSWER[1] as string).slice(0, 30)];
    const { text, ends } = await relayParts(await partOf(broken, "break"), async () => null);
    expect(text).toBe(`${ANSWER[0]}data: {"error":"The upstream stream failed"}\n\n`);
    expect(ends.map((part) => part.end)).toEqual(["upstream_error"]);
  });

  it("ends once, with the part that broke, when the client leaves while the next part is sought", async () => {
    let release: (part: UpstreamPart | null) => void = () => {};
    let ends: readonly PartEnd[] = [];
    let calls = 0;
    const next = await partOf(["data: late\n\n"], "close");
    const nextAborted: string[] = [];
    const body = relayBody(await partOf([ANSWER[0] as string], "break"), {
      idleTimeoutMs: 5000,
      isEventStream: true,
      framing: OPENAI_BYTES,
      continueWith: () =>
        new Promise((resolve) => {
          release = resolve;
        }),
      onEnd: (parts) => {
        calls += 1;
        ends = parts;
      },
    });
    const reader = body.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(ANSWER[0]);
    const pending = reader.read();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await reader.cancel("gone");
    release({ ...next, abort: (reason) => nextAborted.push(reason) });
    await pending.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toBe(1);
    expect(ends.map((part) => part.end)).toEqual(["upstream_error"]);
    expect(nextAborted).toEqual(["client_cancel"]);
  });
});
