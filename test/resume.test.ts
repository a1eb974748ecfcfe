// Resuming a stream that broke mid-answer (docs/contract.md §19), end to end inside workerd against an upstream
// that continues a final assistant message as vLLM does: the break (a reset, a stall, Chutes' bare error line,
// an in-band error, an aborted finish) is invisible, and the real openai, Vercel AI and Anthropic stream
// parsers each read one whole answer. What cannot be continued ends as before, with the error event; a
// continuation that starts over is never spliced in, and its model is not asked again for a while.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import Anthropic from "@anthropic-ai/sdk";
import { streamText } from "ai";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouterWith, configuredRouter, ROUTER_ORIGIN, settle } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import {
  type Behavior,
  calledModels,
  serveUpstream,
  streamBody,
  UPSTREAM_CHAT_URL,
} from "./support/upstream.ts";

const [ALPHA, BETA] = HEALTHY_RANKING as [string, string];
const stub = useRoutingFixture();
type Json = Record<string, unknown>;

const RESUME = { RESUME_MAX: "1" };
const ANSWER = ["The quick ", "brown fox ", "jumps over ", "the lazy dog."];
const WHOLE = ANSWER.join("");

const sse = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
const chunk = (id: string, model: string, delta: Json, finish: string | null = null) =>
  sse({
    id,
    object: "chat.completion.chunk",
    created: id === "cmpl-first" ? 111 : 222,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

/**
 * An engine answering ANSWER: a plain request from the start, a `continue_final_message` one from where its
 * prefix stops (after a role chunk and a fresh id, as vLLM does), or, `restarts`, from the start anyway. `breakAfter`
 * content chunks the stream ends as `how` (once per call to the returned behaviour when `times` is 1).
 */
function engine(
  model: string,
  options: {
    breakAfter?: number;
    how?: "error" | "stall" | "bare" | "inband" | "abort";
    restarts?: boolean;
    times?: number;
  } = {},
): Behavior {
  let calls = 0;
  return async (request) => {
    const body = (await request.json()) as Json & { messages: Json[] };
    calls += 1;
    const breaking = options.breakAfter !== undefined && calls <= (options.times ?? Number.POSITIVE_INFINITY);
    const continuing = body.continue_final_message === true && !options.restarts;
    const prefix = continuing ? String(body.messages.at(-1)?.content ?? "") : "";
    const rest = WHOLE.slice(prefix.length);
    const pieces = rest === WHOLE ? ANSWER : (rest.match(/.{1,10}/gs) ?? []);
    const id = calls === 1 && !continuing ? "cmpl-first" : `cmpl-${calls}`;
    const chunks = [chunk(id, model, { role: "assistant", content: "" })];
    const sent = breaking ? pieces.slice(0, options.breakAfter) : pieces;
    chunks.push(...sent.map((text) => chunk(id, model, { content: text })));
    if (!breaking) {
      chunks.push(chunk(id, model, {}, "stop"));
      chunks.push(
        sse({
          id,
          object: "chat.completion.chunk",
          model,
          choices: [],
          usage: {
            prompt_tokens: 20 + prefix.length,
            completion_tokens: sent.length,
            total_tokens: 20 + prefix.length + sent.length,
          },
        }),
      );
      chunks.push("data: [DONE]\n\n");
      return streamBody(chunks, "close").behavior(request);
    }
    const how = options.how ?? "error";
    if (how === "bare") chunks.push('{"error":"Unhandled exception during response stream: boom"}\n');
    if (how === "inband") chunks.push(sse({ error: { message: "Internal error", code: 500 } }));
    if (how === "abort") chunks.push(chunk(id, model, {}, "abort"));
    return streamBody(chunks, how === "stall" ? "stall" : how === "error" ? "error" : "close").behavior(
      request,
    );
  };
}

/** The chat bodies the router sent upstream, in order. */
function upstreamBodies(): Json[] {
  return stub()
    .calls.filter((call) => call.url === UPSTREAM_CHAT_URL)
    .map((call) => JSON.parse(call.body) as Json);
}

/** The data events of an SSE body, parsed ([DONE] as the string). */
function dataEvents(text: string): Array<Json | string> {
  return text
    .split("\n\n")
    .filter((frame) => frame.startsWith("data: "))
    .map((frame) => frame.slice(6))
    .map((data) => (data === "[DONE]" ? data : (JSON.parse(data) as Json)));
}

const stream = (model: string, extra: Json = {}, vars: Record<string, string> = RESUME) =>
  callRouterWith(
    vars,
    "/v1/chat/completions",
    chatRequest({ model, messages: MESSAGES, stream: true, ...extra }),
  );

describe("a stream that breaks mid-answer continues as one answer", () => {
  it.each([
    ["a connection reset", "error"],
    ["a stall past UPSTREAM_IDLE_TIMEOUT_MS", "stall"],
    ["Chutes' bare error line", "bare"],
    ["an in-band server error", "inband"],
    ["an aborted finish", "abort"],
  ] as const)(
    "after %s: one role chunk, the first id, the text once, one finish, one usage, one [DONE]",
    async (_, how) => {
      serveUpstream(stub(), { [ALPHA]: engine(ALPHA, { breakAfter: 2, how, times: 1 }) });
      const response = await stream(ALPHA);
      expect(response.status).toBe(200);
      const events = dataEvents(await response.text());
      const chunks = events.filter((event): event is Json => typeof event !== "string");
      expect(chunks.every((each) => each.id === "cmpl-first" && each.created === 111)).toBe(true);
      const deltas = chunks.map((each) => ((each.choices as Json[])[0]?.delta ?? {}) as Json);
      expect(deltas.filter((delta) => delta.role !== undefined)).toHaveLength(1);
      expect(deltas.map((delta) => delta.content ?? "").join("")).toBe(WHOLE);
      expect(chunks.filter((each) => (each.choices as Json[])[0]?.finish_reason === "stop")).toHaveLength(1);
      expect(chunks.filter((each) => each.usage)).toHaveLength(1);
      expect(events.filter((event) => event === "[DONE]")).toHaveLength(1);
      expect(JSON.stringify(events)).not.toMatch(/error|abort/);
      // The continuation asked the same model to go on from the text sent, and for less output.
      const [, resumed] = upstreamBodies();
      expect(resumed).toMatchObject({
        model: ALPHA,
        continue_final_message: true,
        add_generation_prompt: false,
        stream: true,
        messages: [...MESSAGES, { role: "assistant", content: "The quick brown fox" }],
      });
    },
  );

  it("reads as one completion to the openai SDK, the Vercel AI SDK and the Anthropic SDK", async () => {
    const fetchWith = (url: RequestInfo | URL, init?: RequestInit) =>
      callRouterWith(RESUME, new URL(String(url instanceof Request ? url.url : url)).pathname, init);
    const breakOnce = () => serveUpstream(stub(), { [ALPHA]: engine(ALPHA, { breakAfter: 2, times: 1 }) });

    breakOnce();
    const openai = new OpenAI({
      baseURL: `${ROUTER_ORIGIN}/v1`,
      apiKey: "cpk_resume",
      maxRetries: 0,
      fetch: fetchWith,
    });
    const completion = await openai.chat.completions
      .stream({ model: ALPHA, messages: [{ role: "user", content: "Hi" }] })
      .finalChatCompletion();
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]?.message.content).toBe(WHOLE);
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.id).toBe("cmpl-first");

    breakOnce();
    const provider = createOpenAICompatible({
      name: "router",
      baseURL: `${ROUTER_ORIGIN}/v1`,
      apiKey: "cpk_resume",
      fetch: fetchWith,
    });
    const result = streamText({ model: provider(ALPHA), prompt: "Hi", maxRetries: 0 });
    const parts: string[] = [];
    for await (const part of result.fullStream) parts.push(part.type);
    expect(await result.text).toBe(WHOLE);
    expect(parts).not.toContain("error");
    expect(await result.finishReason).toBe("stop");

    breakOnce();
    const anthropic = new Anthropic({
      baseURL: ROUTER_ORIGIN,
      apiKey: "cpk_resume",
      maxRetries: 0,
      fetch: fetchWith,
    });
    const message = await anthropic.messages
      .stream({ model: ALPHA, max_tokens: 256, messages: [{ role: "user", content: "Hi" }] })
      .finalMessage();
    expect(message.content).toEqual(
      [{ type: "text", text: WHOLE, citations: null }].map(({ citations: _, ...block }) => block),
    );
    expect(message.stop_reason).toBe("end_turn");
  });

  it("is counted, logged, metered and shown: resumes_total, the log line, both attempts' usage, /status", async () => {
    const router = configuredRouter(RESUME);
    serveUpstream(stub(), { [ALPHA]: engine(ALPHA, { breakAfter: 2, times: 1 }) });
    const printed: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => printed.push(args.map(String).join(" "));
    try {
      const response = await router.call(
        "/v1/chat/completions",
        chatRequest({ model: ALPHA, messages: MESSAGES, stream: true }),
      );
      await response.text();
    } finally {
      console.log = original;
    }
    const line = JSON.parse(printed.find((text) => text.includes('"event":"request"')) ?? "{}") as Json;
    // The continuation re-read the prompt and the 19 characters sent: its extra cost, in the log line.
    expect(line.resumes).toEqual([{ model: ALPHA, result: "resumed", promptTokens: 39 }]);
    expect((line.attempts as Json[]).map((attempt) => attempt.outcome)).toEqual(["committed", "committed"]);
    expect(line.streamEnd).toBe("complete");
    await router.drain();
    await settle();
    const metrics = await (await router.call("/metrics")).text();
    expect(metrics).toMatch(
      new RegExp(`chutes_autopilot_resumes_total\\{model="${ALPHA}",result="resumed"\\} 1`),
    );
    // Both attempts are metered: the continuation re-read the prompt and the prefix (20 + 19 tokens, as its
    // usage said), and the part that broke is counted from the request's estimate on top.
    const prompt = metrics.match(
      new RegExp(`chutes_autopilot_tokens_total\\{model="${ALPHA}",kind="prompt"\\} (\\d+)`),
    );
    expect(Number(prompt?.[1])).toBeGreaterThan(39);
    // The status page shows which models continue answers well.
    const status = (await (
      await router.call("/status", { headers: { accept: "application/json" } })
    ).json()) as { candidates: Array<{ name: string; resumes: unknown }> };
    expect(status.candidates.find((each) => each.name === ALPHA)?.resumes).toEqual({
      resumed: 1,
      restarted: 0,
    });
  });
});

describe("what is not resumed ends as before", () => {
  const endsWithError = async (response: Response) => {
    const text = await response.text();
    expect(text).toContain("upstream_stream_error");
    expect(text).not.toContain("[DONE]");
    return text;
  };

  it("a tool call already sent, a spent output budget, a response format, two choices, RESUME_MAX=0", async () => {
    const withTool: Behavior = (request) =>
      streamBody(
        [
          chunk("c", ALPHA, { role: "assistant", content: "" }),
          chunk("c", ALPHA, {
            tool_calls: [
              { index: 0, id: "t1", type: "function", function: { name: "f", arguments: '{"a":' } },
            ],
          }),
        ],
        "error",
      ).behavior(request);
    serveUpstream(stub(), { [ALPHA]: withTool });
    await endsWithError(await stream(ALPHA));
    for (const [extra, vars] of [
      // Two chunks sent of a two-token budget: nothing left to continue with.
      [{ max_tokens: 2 }, RESUME],
      [{ response_format: { type: "json_object" } }, RESUME],
      [{ n: 2 }, RESUME],
      [{}, { RESUME_MAX: "0" }],
    ] as const) {
      serveUpstream(stub(), { [ALPHA]: engine(ALPHA, { breakAfter: 2 }) });
      stub().calls.length = 0;
      await endsWithError(await stream(ALPHA, extra, vars));
      expect(upstreamBodies()).toHaveLength(1);
    }
  });

  it("a second break once RESUME_MAX is spent", async () => {
    serveUpstream(stub(), {
      [ALPHA]: engine(ALPHA, { breakAfter: 1 }),
      [BETA]: engine(BETA, { breakAfter: 1 }),
    });
    await endsWithError(await stream("chutesai/AutoPilot"));
    expect(upstreamBodies()).toHaveLength(2);
  });

  it("a continuation that starts the answer over: never spliced in, and its model is not asked to continue again", async () => {
    const router = configuredRouter(RESUME);
    serveUpstream(stub(), { [ALPHA]: engine(ALPHA, { breakAfter: 2, restarts: true, times: 1 }) });
    const first = await (
      await router.call(
        "/v1/chat/completions",
        chatRequest({ model: ALPHA, messages: MESSAGES, stream: true }),
      )
    ).text();
    expect(first).toContain("upstream_stream_error");
    const text = dataEvents(first)
      .filter((event): event is Json => typeof event !== "string" && Array.isArray(event.choices))
      .map(
        (event) =>
          (((event.choices as Json[])[0]?.delta as Json | undefined)?.content as string | undefined) ?? "",
      )
      .join("");
    expect(text).toBe("The quick brown fox ");
    // Asked again, the model that restarted is skipped: the alias continues on the next candidate.
    serveUpstream(stub(), { [ALPHA]: engine(ALPHA, { breakAfter: 2, times: 1 }), [BETA]: engine(BETA) });
    stub().calls.length = 0;
    const again = await (
      await router.call(
        "/v1/chat/completions",
        chatRequest({ model: "chutesai/AutoPilot", messages: MESSAGES, stream: true }),
      )
    ).text();
    expect(again).toContain("[DONE]");
    expect(calledModels(stub())).toEqual([ALPHA, BETA]);
  });
});

describe("where the continuation goes", () => {
  it("to the same model first, and to the next candidate once the model broke another answer a moment ago", async () => {
    const router = configuredRouter(RESUME);
    const ask = async () =>
      (
        await router.call(
          "/v1/chat/completions",
          chatRequest({ model: "chutesai/AutoPilot", messages: MESSAGES, stream: true }),
        )
      ).text();
    serveUpstream(stub(), { [ALPHA]: engine(ALPHA, { breakAfter: 2, times: 1 }) });
    expect(await ask()).toContain("[DONE]");
    expect(calledModels(stub())).toEqual([ALPHA, ALPHA]);
    await settle();
    serveUpstream(stub(), { [ALPHA]: engine(ALPHA, { breakAfter: 2 }), [BETA]: engine(BETA) });
    stub().calls.length = 0;
    const text = await ask();
    expect(text).toContain("[DONE]");
    expect(calledModels(stub()).slice(0, 2)).toEqual([ALPHA, BETA]);
    const contents = dataEvents(text)
      .filter((event): event is Json => typeof event !== "string" && Array.isArray(event.choices))
      .map(
        (event) =>
          (((event.choices as Json[])[0]?.delta as Json | undefined)?.content as string | undefined) ?? "",
      );
    expect(contents.join("")).toBe(WHOLE);
  });

  it("through an Anthropic client's stream, continuing the same text block", async () => {
    serveUpstream(stub(), { [ALPHA]: engine(ALPHA, { breakAfter: 2, times: 1 }) });
    const response = await callRouterWith(RESUME, "/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: JSON.stringify({
        model: ALPHA,
        max_tokens: 100,
        stream: true,
        messages: [{ role: "user", content: "Hi" }],
      }),
    });
    const text = await response.text();
    expect(text.match(/event: content_block_start/g)).toHaveLength(1);
    expect(text).toContain("message_stop");
    expect(text).not.toContain("event: error");
    // The output budget the continuation asked for is what was left of the client's.
    expect(upstreamBodies()[1]).toMatchObject({ max_tokens: 98, continue_final_message: true });
  });
});
