import { describe, expect, it } from "vitest";
import { answerFromJson, createContentAccumulator } from "./answer-content.ts";
import { createSseReader } from "./event-stream.ts";

const events = (...chunks: unknown[]) =>
  createSseReader().push(
    new TextEncoder().encode(chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join("")),
  );
const delta = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  choices: [{ index: 0, delta: fields, ...extra }],
});

describe("the content of an answer so far", () => {
  it("gathers text, reasoning and each tool call's arguments from the deltas", () => {
    const content = createContentAccumulator();
    content.onEvents(
      events(
        delta({ reasoning_content: "Look " }),
        delta({ reasoning: "first." }),
        delta({ content: "Reading" }),
        delta({ tool_calls: [{ index: 0, id: "call_1", function: { name: "Read", arguments: '{"pa' } }] }),
        delta({ tool_calls: [{ index: 0, function: { arguments: 'th":"a"}' } }] }),
        delta({ tool_calls: [{ index: 1, id: "call_2", function: { name: "Bash", arguments: "{}" } }] }),
        delta({}, { finish_reason: "tool_calls" }),
      ),
    );
    content.onEvents(createSseReader().push(new TextEncoder().encode("data: [DONE]\n\n: comment\n\n")));
    expect(content.snapshot()).toEqual({
      text: "Reading",
      reasoning: "Look first.",
      toolCalls: [
        { index: 0, id: "call_1", name: "Read", arguments: '{"path":"a"}' },
        { index: 1, id: "call_2", name: "Bash", arguments: "{}" },
      ],
      finishReason: "tool_calls",
      chars: 32,
      truncated: false,
    });
  });

  it("reads a text completion's text, and ignores other choices and what is not a chunk", () => {
    const content = createContentAccumulator();
    content.onEvents(
      events(
        { choices: [{ index: 0, text: "Once " }] },
        { choices: [{ index: 1, text: "Elsewhere" }] },
        { error: { message: "nope" } },
        { choices: [{ index: 0, text: "upon" }] },
      ),
    );
    expect(content.snapshot()).toMatchObject({ text: "Once upon", toolCalls: [] });
  });

  it("keeps no more than its cap, and says so", () => {
    const content = createContentAccumulator(10);
    content.onEvents(events(delta({ content: "abcdefgh" }), delta({ content: "ijklmnop" })));
    expect(content.snapshot()).toMatchObject({ text: "abcdefghij", chars: 10, truncated: true });
  });
});

describe("answerFromJson", () => {
  it("reads a whole chat completion as the accumulator reads the same answer streamed", () => {
    const body = JSON.stringify({
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "Let me look.",
            reasoning_content: "The user wants a listing.",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "ls", arguments: '{"path":"."}' } },
            ],
          },
          finish_reason: "tool_calls",
        },
      ],
    });
    expect(answerFromJson(body)).toMatchObject({
      text: "Let me look.",
      reasoning: "The user wants a listing.",
      toolCalls: [{ index: 0, id: "call_1", name: "ls", arguments: '{"path":"."}' }],
      finishReason: "tool_calls",
      truncated: false,
    });
  });

  it("reads a text completion, and gives null for what is not a completion", () => {
    expect(
      answerFromJson('{"choices":[{"index":0,"text":"once upon","finish_reason":"length"}]}'),
    ).toMatchObject({
      text: "once upon",
      finishReason: "length",
    });
    expect(answerFromJson("not json")).toBeNull();
    expect(answerFromJson('{"error":{"message":"x"}}')).toBeNull();
  });
});
