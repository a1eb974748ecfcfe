// The Responses ingress (docs/contract.md §20), driven by the official `openai` SDK and the Vercel AI SDK's
// Responses provider inside workerd (their `fetch` calls the Worker in-process): plain and streamed answers,
// reasoning, a function-call round trip, Codex's own request with its namespace tools and session, failover
// before the first byte, a failure mid-stream, what fits (§16) in the Responses shape, upstream errors
// re-worded for Codex, and the stateless refusals.
import { exports } from "cloudflare:workers";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import CODEX_FIRST from "../fixtures/codex/0.171.0-first-request.json" with { type: "json" };
import CODEX_TOOL_RESULT from "../fixtures/codex/0.171.0-tool-result.json" with { type: "json" };
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { callRouter, ROUTER_ORIGIN, settle } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import {
  calledModels,
  chatCompletion as completion,
  serveUpstream,
  chatChunks as sse,
  status,
  streamBody,
  UPSTREAM_CHAT_URL,
} from "./support/upstream.ts";

const [ALPHA, BETA, GAMMA] = HEALTHY_RANKING as [string, string, string];
const stub = useRoutingFixture();
type Json = Record<string, unknown>;

const routerFetch = (url: RequestInfo | URL, init?: RequestInit) =>
  exports.default.fetch(new Request(String(url instanceof Request ? url.url : url), init));

function client(): OpenAI {
  return new OpenAI({
    baseURL: `${ROUTER_ORIGIN}/v1`,
    apiKey: "cpk_responses_client",
    maxRetries: 0,
    fetch: routerFetch,
  });
}

const streamed = (deltas: readonly Json[], finishReason = "stop") =>
  streamBody(sse(deltas, finishReason), "close").behavior;

/** The upstream bodies the router sent, in order. */
function upstreamBodies(): Json[] {
  return stub()
    .calls.filter((call) => call.url === UPSTREAM_CHAT_URL)
    .map((call) => JSON.parse(call.body) as Json);
}

const WEATHER = {
  type: "function" as const,
  name: "get_weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
  strict: true,
};

describe("POST /v1/responses with the openai SDK", () => {
  it("answers responses.create through the alias, as a response object with output_text and usage", async () => {
    serveUpstream(stub(), { [ALPHA]: completion({ content: "Hello there" }) });
    const response = await client().responses.create({
      model: "chutesai/AutoPilot",
      instructions: "Be brief",
      input: "Say hello",
      max_output_tokens: 64,
    });
    expect(response).toMatchObject({
      object: "response",
      status: "completed",
      model: "chutesai/AutoPilot",
      store: false,
      usage: { input_tokens: 12, output_tokens: 5, total_tokens: 17 },
    });
    expect(response.output_text).toBe("Hello there");
    expect(upstreamBodies()[0]).toMatchObject({
      model: ALPHA,
      max_tokens: 64,
      messages: [
        { role: "system", content: "Be brief" },
        { role: "user", content: "Say hello" },
      ],
    });
  });

  it("streams text and reasoning through responses.stream(), whose final response has both", async () => {
    serveUpstream(stub(), {
      [ALPHA]: streamed([
        { reasoning_content: "Two and two " },
        { reasoning_content: "is four." },
        { content: "It is " },
        { content: "4." },
      ]),
    });
    const stream = client().responses.stream({
      model: "chutesai/AutoPilot",
      input: "2+2?",
      reasoning: { effort: "high", summary: "auto" },
    });
    const deltas: string[] = [];
    const summaries: string[] = [];
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    stream.on("response.reasoning_summary_text.delta", (event) => summaries.push(event.delta));
    const final = await stream.finalResponse();
    expect(deltas.join("")).toBe("It is 4.");
    expect(summaries.join("")).toBe("Two and two is four.");
    expect(final.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    expect(final.output_text).toBe("It is 4.");
    expect(final.usage).toMatchObject({ input_tokens: 30, output_tokens: 7 });
    expect(upstreamBodies()[0]).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: "high",
    });
  });

  it("round-trips a function call: the call streams out, its output goes back as a tool message", async () => {
    serveUpstream(stub(), {
      [ALPHA]: streamed(
        [
          {
            tool_calls: [
              { index: 0, id: "call_w1", type: "function", function: { name: "get_weather", arguments: "" } },
            ],
          },
          { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
          { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
        ],
        "tool_calls",
      ),
    });
    const first = await client()
      .responses.stream({ model: "chutesai/AutoPilot", input: "Weather in Paris?", tools: [WEATHER] })
      .finalResponse();
    const call = first.output.find((item) => item.type === "function_call");
    expect(call).toMatchObject({
      type: "function_call",
      name: "get_weather",
      call_id: "call_w1",
      arguments: '{"city":"Paris"}',
    });
    expect(upstreamBodies()[0]?.tools).toEqual([
      {
        type: "function",
        function: { name: "get_weather", description: WEATHER.description, parameters: WEATHER.parameters },
      },
    ]);

    serveUpstream(stub(), { [ALPHA]: streamed([{ content: "Sunny, 21 °C in Paris." }]) });
    const second = await client()
      .responses.stream({
        model: "chutesai/AutoPilot",
        input: [
          { role: "user", content: "Weather in Paris?" },
          call as OpenAI.Responses.ResponseFunctionToolCall,
          { type: "function_call_output", call_id: "call_w1", output: "Sunny, 21 C" },
        ],
        tools: [WEATHER],
      })
      .finalResponse();
    expect(second.output_text).toBe("Sunny, 21 °C in Paris.");
    expect((upstreamBodies().at(-1) as { messages: Json[] }).messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_w1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_w1", name: "get_weather", content: "Sunny, 21 C" },
    ]);
  });

  it("fails over before the first byte, and names the model that answered", async () => {
    serveUpstream(stub(), {
      [ALPHA]: status(503, '{"detail":"No instances available (yet) for chute_id=x"}'),
      [BETA]: streamed([{ content: "from beta" }]),
    });
    const { data, response } = await client()
      .responses.create({ model: "chutesai/AutoPilot", input: "Hi", stream: true })
      .withResponse();
    const types: string[] = [];
    for await (const event of data) types.push(event.type);
    expect(types.at(-1)).toBe("response.completed");
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(BETA);
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("2");
    expect(calledModels(stub())).toEqual([ALPHA, BETA]);
  });

  it("ends a stream that breaks after the first byte with error and response.failed, which the SDK raises", async () => {
    serveUpstream(stub(), {
      [ALPHA]: streamBody(sse([{ content: "Half an ans" }], "stop").slice(0, 1), "error").behavior,
    });
    const response = await callRouter("/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: JSON.stringify({ model: "chutesai/AutoPilot", input: "Hi", stream: true }),
    });
    const text = await response.text();
    const events = text
      .split("\n\n")
      .filter(Boolean)
      .map((frame) => JSON.parse(frame.split("\n")[1]?.slice(6) ?? "{}") as Json);
    expect(events.map((event) => event.type).slice(-2)).toEqual(["error", "response.failed"]);
    expect(events.at(-1)).toMatchObject({ response: { status: "failed", error: { code: "server_error" } } });
    expect(events.filter((event) => event.type === "response.completed")).toHaveLength(0);

    // Every model breaks, since the first break has taught the router to avoid ALPHA.
    const breaks = streamBody(sse([{ content: "Half an ans" }], "stop").slice(0, 1), "error").behavior;
    serveUpstream(stub(), { [ALPHA]: breaks, [BETA]: breaks, [GAMMA]: breaks });
    // The SDK raises the stream's error event: the client never takes half an answer for a whole one.
    const error = await client()
      .responses.stream({ model: "chutesai/AutoPilot", input: "Hi" })
      .finalResponse()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain("The upstream stream failed");
  });
});

describe("POST /v1/responses with the Vercel AI SDK's Responses provider", () => {
  const provider = createOpenAI({ baseURL: `${ROUTER_ORIGIN}/v1`, apiKey: "cpk_ai_sdk", fetch: routerFetch });

  it("generates text, and streams text with reasoning", async () => {
    serveUpstream(stub(), { [ALPHA]: completion({ content: "Hi from the router" }) });
    const whole = await generateText({
      model: provider.responses("chutesai/AutoPilot"),
      system: "Be brief",
      prompt: "Say hi",
    });
    expect(whole.text).toBe("Hi from the router");
    expect(whole.usage.inputTokens).toBe(12);

    serveUpstream(stub(), {
      [ALPHA]: streamed([
        { reasoning_content: "Thinking it over." },
        { content: "Streamed " },
        { content: "answer." },
      ]),
    });
    const result = streamText({
      model: provider.responses("chutesai/AutoPilot"),
      prompt: "Go",
      providerOptions: { openai: { store: false } },
    });
    let text = "";
    for await (const piece of result.textStream) text += piece;
    expect(text).toBe("Streamed answer.");
    expect(await result.reasoningText).toBe("Thinking it over.");
    expect((await result.usage).outputTokens).toBe(7);
  });

  it("runs a tool over two steps with store: false", async () => {
    let turn = 0;
    serveUpstream(stub(), {
      [ALPHA]: (request) =>
        (turn++ === 0
          ? streamed(
              [
                {
                  tool_calls: [
                    {
                      index: 0,
                      id: "call_t1",
                      type: "function",
                      function: { name: "get_weather", arguments: '{"city":"Rome"}' },
                    },
                  ],
                },
              ],
              "tool_calls",
            )
          : streamed([{ content: "It is sunny in Rome." }]))(request),
    });
    const cities: string[] = [];
    const result = streamText({
      model: provider.responses("chutesai/AutoPilot"),
      prompt: "Weather in Rome?",
      tools: {
        get_weather: tool({
          description: "The weather in a city",
          inputSchema: jsonSchema<{ city: string }>({
            type: "object",
            properties: { city: { type: "string" } },
            required: ["city"],
          }),
          execute: async ({ city }) => {
            cities.push(city);
            return "Sunny";
          },
        }),
      },
      stopWhen: stepCountIs(2),
      providerOptions: { openai: { store: false } },
    });
    let text = "";
    for await (const piece of result.textStream) text += piece;
    expect(cities).toEqual(["Rome"]);
    expect(text).toBe("It is sunny in Rome.");
    const messages = upstreamBodies().at(-1)?.messages as Json[];
    expect(messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_t1", name: "get_weather" });
  });
});

describe("Codex CLI's requests", () => {
  const codex = (
    request: { headers: Record<string, string>; body: Json },
    authorization = "Bearer cpk_codex",
  ) =>
    callRouter("/v1/responses", {
      method: "POST",
      headers: { ...request.headers, authorization },
      body: JSON.stringify(request.body),
    });

  it("routes Codex's first turn: namespace tools flattened, hosted web_search left out, Codex's headers kept home", async () => {
    serveUpstream(stub(), {
      [ALPHA]: streamed(
        [
          {
            tool_calls: [
              {
                index: 0,
                id: "call_x",
                type: "function",
                function: { name: "multi_agent_v1__spawn_agent", arguments: "{}" },
              },
            ],
          },
        ],
        "tool_calls",
      ),
    });
    const response = await codex(CODEX_FIRST as never);
    expect(response.status).toBe(200);
    const text = await response.text();
    const done = text
      .split("\n\n")
      .map((frame) => frame.split("\n")[1]?.slice(6))
      .filter((data): data is string => data !== undefined)
      .map((data) => JSON.parse(data) as Json)
      .find((event) => event.type === "response.output_item.done");
    // Codex resolves a call by its namespace and name; the flat name would be "unsupported call".
    expect(done?.item).toMatchObject({
      type: "function_call",
      name: "spawn_agent",
      namespace: "multi_agent_v1",
      call_id: "call_x",
    });
    const sent = stub().calls.find((call) => call.url === UPSTREAM_CHAT_URL);
    const body = JSON.parse(sent?.body ?? "{}") as Json;
    const names = (body.tools as Array<{ function: { name: string } }>).map((each) => each.function.name);
    expect(names).toContain("exec_command");
    expect(names).toContain("multi_agent_v1__spawn_agent");
    expect(names.some((name) => name.includes("web_search"))).toBe(false);
    for (const header of [
      "session-id",
      "thread-id",
      "x-codex-turn-metadata",
      "x-codex-beta-features",
      "originator",
    ])
      expect(sent?.headers.has(header)).toBe(false);
  });

  it("keeps a Codex session on one model by its session-id, whatever key carries it", async () => {
    const session = { ...CODEX_TOOL_RESULT.headers, "session-id": `codex-${crypto.randomUUID()}` };
    serveUpstream(stub(), { [ALPHA]: status(503, "{}"), [BETA]: streamed([{ content: "beta" }]) });
    await (
      await codex({ headers: session, body: CODEX_TOOL_RESULT.body as Json }, "Bearer cpk_first")
    ).text();
    await settle();
    serveUpstream(stub(), {});
    stub().calls.length = 0;
    await (
      await codex(
        { headers: session, body: { ...CODEX_TOOL_RESULT.body, stream: false } as Json },
        "Bearer cpk_other",
      )
    ).text();
    expect(calledModels(stub())).toEqual([BETA]);
  });
});

describe("errors in the Responses shape", () => {
  const post = (body: Json) =>
    callRouter("/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: JSON.stringify(body),
    });

  it("refuses what needs stored responses with OpenAI's codes, which the SDK raises as BadRequestError", async () => {
    const error = await client()
      .responses.create({ model: "chutesai/AutoPilot", input: "Hi", previous_response_id: "resp_earlier" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("previous_response_not_found");
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("previous_response_id");

    const reference = await post({
      model: "chutesai/AutoPilot",
      input: [{ type: "item_reference", id: "msg_1" }],
    });
    expect(reference.status).toBe(400);
    expect(((await reference.json()) as { error: Json }).error).toMatchObject({
      type: "invalid_request_error",
      param: "input",
    });
    expect(upstreamBodies()).toHaveLength(0);
  });

  it("answers 404 for retrieving, deleting or compacting a response, and 405 for GET /v1/responses", async () => {
    for (const [method, path] of [
      ["GET", "/v1/responses/resp_1"],
      ["DELETE", "/v1/responses/resp_1"],
      ["POST", "/v1/responses/compact"],
    ] as const) {
      const response = await callRouter(path, { method, headers: { authorization: "Bearer k" } });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain(
        "does not store responses",
      );
    }
    const listing = await callRouter("/v1/responses", { method: "GET" });
    expect(listing.status).toBe(405);
    expect(listing.headers.get("allow")).toBe("POST");
  });

  it("says a request that fits no model is a 400 naming the input, not a 5xx Codex would retry", async () => {
    const huge = "word ".repeat(200_000);
    const response = await post({ model: "chutesai/AutoPilot", input: huge });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: Json }).error).toMatchObject({
      code: "context_length_exceeded",
      param: "input",
    });
    expect(upstreamBodies()).toHaveLength(0);
  });

  it("re-words an engine's context refusal in direct mode as context_length_exceeded, on which Codex compacts", async () => {
    const vllm =
      '{"object":"error","message":"This model\'s maximum context length is 32768 tokens. However, you requested 40000 tokens (38000 in the messages, 2000 in the completion).","type":"BadRequestError","code":400}';
    serveUpstream(stub(), { [GAMMA]: status(400, vllm) });
    const response = await post({ model: GAMMA, input: "Hi" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: Json }).error).toMatchObject({
      code: "context_length_exceeded",
      type: "invalid_request_error",
    });

    serveUpstream(stub(), { [GAMMA]: status(502, '{"detail":"bad gateway"}') });
    const failed = await post({ model: GAMMA, input: "Hi" });
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as { error: Json }).error).toMatchObject({
      message: "bad gateway",
      type: "server_error",
      code: "upstream_error",
    });
  });
});
