// The splice that makes a resumed stream one answer (docs/contract.md §19), fed the way the relay feeds it:
// each part's bytes through the SSE reader, cut at every byte. The client's events must read as one stream:
// one role chunk, the first stream's id on every chunk, the text exactly once, one finish, one usage, one
// [DONE]. A continuation that starts over is never spliced in; a stop sequence across the seam ends the answer.
import { describe, expect, it } from "vitest";
import { createSseReader, type SseEvent } from "./event-stream.ts";
import { createStreamSplice, type SpliceVerdict } from "./stream-splice.ts";

type Json = Record<string, unknown>;

const chunk = (id: string, delta: Json, finish: string | null = null) =>
  `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: id === "first" ? 1 : 2, model: id === "first" ? "m-a" : "m-b", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const usage = (id: string, prompt: number, completion: number) =>
  `data: ${JSON.stringify({ id, object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } })}\n\n`;
const DONE = "data: [DONE]\n\n";

/** A first part that sends `pieces` of content after its role chunk, then breaks. */
const brokenFirst = (pieces: string[]) =>
  [
    chunk("first", { role: "assistant", content: "" }),
    ...pieces.map((text) => chunk("first", { content: text })),
  ].join("");
/** A continuation that sends `pieces`, then its finish, usage and [DONE]. */
const continuation = (pieces: string[], prompt = 50) =>
  [
    chunk("second", { role: "assistant", content: "" }),
    ...pieces.map((text) => chunk("second", { content: text })),
    chunk("second", {}, "stop"),
    usage("second", prompt, pieces.length),
    DONE,
  ].join("");

interface Run {
  events: Json[];
  raw: string;
  verdicts: SpliceVerdict["kind"][];
}

/** Feeds each part's bytes cut at `cut` through a reader and the splice, continuing after each but the last. */
function run(parts: string[], cut = Number.POSITIVE_INFINITY, stop: string[] = []): Run {
  const splice = createStreamSplice({ stop });
  const out: SseEvent[] = [];
  const verdicts: SpliceVerdict["kind"][] = [];
  for (const [index, part] of parts.entries()) {
    if (index > 0) {
      const sent = splice.sent();
      const prefix = sent.text === "" ? null : sent.text.trimEnd();
      splice.continueFrom(prefix, prefix === null ? "" : sent.text.slice(prefix.length));
    }
    const reader = createSseReader();
    const bytes = new TextEncoder().encode(part);
    let verdict: SpliceVerdict = { kind: "pass" };
    for (let from = 0; from < bytes.length && verdict.kind === "pass"; from += cut) {
      const taken = splice.take(reader.push(bytes.slice(from, from + cut)));
      out.push(...taken.events);
      verdict = taken.verdict;
    }
    if (verdict.kind === "pass" && index === parts.length - 1) out.push(...splice.end().events);
    verdicts.push(verdict.kind);
    if (verdict.kind === "restarted" || verdict.kind === "stopped") break;
  }
  const raw = out.map((event) => new TextDecoder().decode(event.raw)).join("");
  const events = out
    .map((event) => event.data ?? "")
    .filter((data) => data !== "[DONE]")
    .map((data) => JSON.parse(data) as Json);
  return { events, raw, verdicts };
}

const textOf = (events: Json[]) =>
  events.map((event) => ((event.choices as Json[])[0]?.delta as Json | undefined)?.content ?? "").join("");

describe("a resumed stream reads as one answer", () => {
  const parts = [brokenFirst(["The quick ", "brown fox "]), continuation([" jumps", " over", " the dog."])];

  it("at every byte split: one role chunk, the first id, the text once, one finish, one usage, one [DONE]", () => {
    const whole = run(parts);
    expect(textOf(whole.events)).toBe("The quick brown fox jumps over the dog.");
    expect(
      whole.events.every((event) => event.id === "first" && event.model === "m-a" && event.created === 1),
    ).toBe(true);
    const roles = whole.events.filter(
      (event) => ((event.choices as Json[])[0]?.delta as Json | undefined)?.role !== undefined,
    );
    expect(roles).toHaveLength(1);
    expect(
      whole.events.filter((event) => (event.choices as Json[])[0]?.finish_reason === "stop"),
    ).toHaveLength(1);
    const usages = whole.events.filter((event) => event.usage !== undefined);
    // The continuation re-read the two chunks sent as its prompt; the answer's output is both parts'.
    expect(usages.map((event) => event.usage)).toEqual([
      { prompt_tokens: 48, completion_tokens: 5, total_tokens: 53 },
    ]);
    expect(whole.raw.match(/\[DONE\]/g)).toHaveLength(1);
    const bytes = parts.join("").length;
    for (let cut = 1; cut < 64; cut++) expect(run(parts, cut).raw).toBe(whole.raw);
    expect(run(parts, 1).raw).toBe(whole.raw);
    expect(bytes).toBeGreaterThan(0);
  });

  it("passes the first part through byte for byte", () => {
    const first = run([brokenFirst(["Hello ", "there"]) + chunk("first", {}, "stop") + DONE]);
    expect(first.raw).toBe(brokenFirst(["Hello ", "there"]) + chunk("first", {}, "stop") + DONE);
  });

  it("drops the whitespace the prefix was sent without, once, even in a chunk of its own", () => {
    const spaced = run([brokenFirst(["chunk 0 ", "chunk 1 "]), continuation([" ", "chunk 2 ", "chunk 3 "])]);
    expect(textOf(spaced.events)).toBe("chunk 0 chunk 1 chunk 2 chunk 3 ");
    const glued = run([brokenFirst(["one ", "two"]), continuation([" three"])]);
    expect(textOf(glued.events)).toBe("one two three");
  });

  it("turns a continuation's reasoning into content when the cut was in the content (R1-style parsers)", () => {
    const parts2 = [
      brokenFirst(["The answer "]),
      [
        chunk("second", { role: "assistant", content: "" }),
        chunk("second", { reasoning_content: "is 42, as computed long ago." }),
        chunk("second", {}, "stop"),
        DONE,
      ].join(""),
    ];
    expect(textOf(run(parts2).events)).toBe("The answer is 42, as computed long ago.");
  });

  it("restarts with the original request when nothing but the role chunk had gone out", () => {
    const parts2 = [chunk("first", { role: "assistant", content: "" }), continuation(["Fresh ", "start."])];
    const result = run(parts2);
    expect(textOf(result.events)).toBe("Fresh start.");
    expect(
      result.events.filter(
        (event) => ((event.choices as Json[])[0]?.delta as Json | undefined)?.role !== undefined,
      ),
    ).toHaveLength(1);
  });
});

describe("what the splice will not splice in", () => {
  it("a continuation that starts the answer over: never sent, reported as restarted", () => {
    const parts = [
      brokenFirst(["Once upon a time, ", "there was "]),
      continuation(["Once upon a time, ", "there was a king."]),
    ];
    for (const cut of [1, 7, Number.POSITIVE_INFINITY]) {
      const result = run(parts, cut);
      expect(result.verdicts).toEqual(["pass", "restarted"]);
      expect(textOf(result.events)).toBe("Once upon a time, there was ");
    }
  });

  it("a short continuation that starts over is caught when it ends", () => {
    const result = run([brokenFirst(["Hello world, ", "and "]), continuation(["Hello world!"])]);
    expect(result.verdicts.at(-1)).toBe("restarted");
  });

  it("a continuation that merely starts like many sentences do is spliced in", () => {
    const result = run([brokenFirst(["The cat sat. ", "Then "]), continuation(["the dog came."])]);
    expect(result.verdicts).toEqual(["pass", "pass"]);
    expect(textOf(result.events)).toBe("The cat sat. Then the dog came.");
  });
});

describe("breaks the client never sees", () => {
  it.each([
    ["an in-band server error", `data: {"error":{"message":"Internal error","code":500}}\n\n`],
    ["vLLM's flat error object", `data: {"object":"error","message":"boom","code":503}\n\n`],
    ["an aborted finish", chunk("first", {}, "abort")],
  ])("%s ends the part as broken and is held back", (_, failure) => {
    const splice = createStreamSplice({ stop: [] });
    const reader = createSseReader();
    const taken = splice.take(
      reader.push(
        new TextEncoder().encode(brokenFirst(["Half "]) + failure + chunk("first", { content: "never" })),
      ),
    );
    expect(taken.verdict.kind).toBe("broke");
    const sent = taken.events.map((event) => event.data).join("");
    expect(sent).toContain("Half ");
    expect(sent).not.toMatch(/error|abort|never/);
  });

  it("a client-class in-band error is the client's, passed on as the upstream sent it", () => {
    const splice = createStreamSplice({ stop: [] });
    const failure = `data: {"error":{"message":"bad request","code":400}}\n\n`;
    const taken = splice.take(createSseReader().push(new TextEncoder().encode(failure)));
    expect(taken.verdict.kind).toBe("pass");
    expect(taken.events).toHaveLength(1);
  });

  it("a part that ends without a finish or [DONE] did not end whole", () => {
    const splice = createStreamSplice({ stop: [] });
    splice.take(createSseReader().push(new TextEncoder().encode(brokenFirst(["cut "]))));
    expect(splice.end().whole).toBe(false);
    const finished = createStreamSplice({ stop: [] });
    finished.take(
      createSseReader().push(new TextEncoder().encode(brokenFirst(["done"]) + chunk("first", {}, "stop"))),
    );
    expect(finished.end().whole).toBe(true);
  });
});

describe("what the client has, for the continuation request", () => {
  it("its text, where it broke, whether a tool call went out, its content chunks", () => {
    const splice = createStreamSplice({ stop: [] });
    const reasoningCut = chunk("first", { reasoning_content: "Let me think" });
    splice.take(createSseReader().push(new TextEncoder().encode(brokenFirst([]) + reasoningCut)));
    expect(splice.sent()).toMatchObject({
      text: "",
      reasoning: "Let me think",
      phase: "reasoning",
      toolCallSent: false,
    });
    const withTool = createStreamSplice({ stop: [] });
    const call = chunk("first", {
      tool_calls: [{ index: 0, id: "c1", function: { name: "f", arguments: "{" } }],
    });
    withTool.take(createSseReader().push(new TextEncoder().encode(brokenFirst(["Calling. "]) + call)));
    expect(withTool.sent()).toMatchObject({
      text: "Calling. ",
      phase: "content",
      toolCallSent: true,
      contentChunks: 1,
    });
  });
});

describe("stop sequences across the seam", () => {
  it("end the answer where the engine could not see them, with one finish and [DONE]", () => {
    const parts = [brokenFirst(["Count: 1 2 3 E"]), continuation(["ND 4 5"])];
    const result = run(parts, Number.POSITIVE_INFINITY, ["END"]);
    expect(result.verdicts.at(-1)).toBe("stopped");
    expect(textOf(result.events)).toBe("Count: 1 2 3 E");
    expect(result.events.at(-1)).toMatchObject({ id: "first", choices: [{ finish_reason: "stop" }] });
    expect(result.raw.match(/\[DONE\]/g)).toHaveLength(1);
  });

  it("leave a stop that lies wholly in the continuation to the engine", () => {
    const result = run([brokenFirst(["Count: 1 "]), continuation(["2 3"])], Number.POSITIVE_INFINITY, [
      "END",
    ]);
    expect(result.verdicts).toEqual(["pass", "pass"]);
    expect(textOf(result.events)).toBe("Count: 1 2 3");
  });
});
