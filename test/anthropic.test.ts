// The Anthropic Messages ingress (docs/contract.md §14), driven by the official @anthropic-ai/sdk inside workerd
// (its `fetch` option calls the Worker in-process): plain and streamed answers, thinking, a tool-use round trip
// with an id Anthropic would not accept, every error class by status, failover before the first byte, a
// failure mid-stream, count_tokens, and the Anthropic-format model list.

import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { controlPlaneStub } from "../src/state/control-plane.ts";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { callRouter, callRouterWith, forgetCachedView, ROUTER_ORIGIN, settle } from "./support/router.ts";
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

function client(options: { apiKey?: string; vars?: Record<string, string> } = {}): Anthropic {
  return new Anthropic({
    baseURL: ROUTER_ORIGIN,
    apiKey: options.apiKey ?? "cpk_anthropic_client",
    maxRetries: 0,
    fetch: (url, init) =>
      options.vars
        ? callRouterWith(options.vars, new URL(String(url)).pathname, init as RequestInit)
        : exports.default.fetch(new Request(String(url), init as RequestInit)),
  });
}

const ASK = {
  model: "claude-sonnet-4-6",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Hi" }],
};

/** The last body the router sent upstream. */
function lastUpstreamBody(): Record<string, unknown> {
  const calls = stub().calls.filter((call) => call.url === UPSTREAM_CHAT_URL);
  return JSON.parse(calls.at(-1)?.body ?? "{}") as Record<string, unknown>;
}

describe("POST /v1/messages", () => {
  it("answers a plain request through the alias the model map names, in Anthropic's shape", async () => {
    serveUpstream(stub(), { [ALPHA]: completion({ content: "Hello there" }, "stop") });
    const message = await client().messages.create(ASK);
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-6",
      content: [{ type: "text", text: "Hello there" }],
      stop_reason: "end_turn",
      usage: { input_tokens: 12, output_tokens: 5 },
    });
    expect(calledModels(stub())).toEqual([ALPHA]);
    expect(lastUpstreamBody()).toMatchObject({
      model: ALPHA,
      max_tokens: 256,
      messages: [{ role: "user", content: "Hi" }],
    });
  });

  it("streams text with every event in order and the final usage in message_delta", async () => {
    serveUpstream(stub(), {
      [ALPHA]: streamBody(
        sse([{ role: "assistant" }, { content: "Hel" }, { content: "lo" }], "stop"),
        "close",
      ).behavior,
    });
    const events: string[] = [];
    const stream = await client().messages.create({ ...ASK, stream: true });
    for await (const event of stream) events.push(event.type);
    expect(events).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(lastUpstreamBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("gives messages.stream() a final message with thinking first, then text, and the real input tokens", async () => {
    serveUpstream(stub(), {
      [ALPHA]: streamBody(
        sse([{ reasoning_content: "Let me think. " }, { reasoning: "Done." }, { content: "42" }], "stop"),
        "close",
      ).behavior,
    });
    const final = await client()
      .messages.stream({ ...ASK, thinking: { type: "enabled", budget_tokens: 2048 } })
      .finalMessage();
    expect(final.content).toEqual([
      { type: "thinking", thinking: "Let me think. Done.", signature: "" },
      { type: "text", text: "42" },
    ]);
    expect(final.usage.input_tokens).toBe(30);
    expect(final.usage.output_tokens).toBe(7);
    expect(lastUpstreamBody()).toMatchObject({ reasoning_effort: "medium" });
  });

  it("carries a tool call round trip, giving the upstream back its own tool id exactly", async () => {
    const KIMI_ID = "functions.Bash:0";
    serveUpstream(stub(), {
      [ALPHA]: streamBody(
        sse(
          [
            {
              tool_calls: [
                { index: 0, id: KIMI_ID, type: "function", function: { name: "Bash", arguments: '{"comm' } },
              ],
            },
            { tool_calls: [{ index: 0, function: { arguments: 'and":"ls"}' } }] },
          ],
          "stop",
        ),
        "close",
      ).behavior,
    });
    const tools = [
      {
        name: "Bash",
        description: "Run a command",
        input_schema: { type: "object" as const, properties: {} },
      },
    ];
    const first = await client()
      .messages.stream({ ...ASK, tools })
      .finalMessage();
    expect(first.stop_reason).toBe("tool_use");
    const toolUse = first.content.find((block) => block.type === "tool_use");
    expect(toolUse).toMatchObject({ name: "Bash", input: { command: "ls" } });
    expect(toolUse?.type === "tool_use" && /^[a-zA-Z0-9_-]+$/.test(toolUse.id)).toBe(true);

    serveUpstream(stub(), { [ALPHA]: completion({ content: "file.txt" }, "stop") });
    const id = toolUse?.type === "tool_use" ? toolUse.id : "";
    await client().messages.create({
      ...ASK,
      tools,
      messages: [
        { role: "user", content: "List files" },
        { role: "assistant", content: first.content.filter((block) => block.type === "tool_use") },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: id, content: "file.txt" },
            { type: "text", text: "What is there?" },
          ],
        },
      ],
    });
    const sent = lastUpstreamBody().messages as Array<Record<string, unknown>>;
    expect(sent[1]).toMatchObject({
      role: "assistant",
      tool_calls: [{ id: KIMI_ID, function: { name: "Bash" } }],
    });
    expect(sent[2]).toMatchObject({ role: "tool", tool_call_id: KIMI_ID });
    expect(sent[3]).toMatchObject({ role: "user" });
    expect(JSON.stringify(sent[3])).toContain("What is there?");
  });

  it("streams a streamed request even when the upstream answered with one JSON body", async () => {
    serveUpstream(stub(), {
      [ALPHA]: completion(
        {
          content: "whole",
          tool_calls: [
            {
              id: "functions.Read:1",
              type: "function",
              function: { name: "Read", arguments: '{"path":"a"}' },
            },
          ],
        },
        "tool_calls",
      ),
    });
    const final = await client({ apiKey: "cpk_json_stream" }).messages.stream(ASK).finalMessage();
    expect(final.content.map((block) => block.type)).toEqual(["text", "tool_use"]);
    expect(final.stop_reason).toBe("tool_use");
    expect(final.usage).toMatchObject({ input_tokens: 12, output_tokens: 5 });
  });

  it("fails over before the first byte, invisibly to the client", async () => {
    serveUpstream(stub(), {
      [ALPHA]: status(503, '{"detail":"No instances available"}'),
      [BETA]: completion({ content: "from beta" }, "stop"),
    });
    const message = await client().messages.create(ASK);
    expect(message.content).toEqual([{ type: "text", text: "from beta" }]);
    expect(calledModels(stub())).toEqual([ALPHA, BETA]);
  });

  it("makes finalMessage() reject when the upstream breaks after content started, with an error event", async () => {
    const chunks = sse([{ content: "partial" }], "stop").slice(0, 1);
    serveUpstream(stub(), { [ALPHA]: streamBody(chunks, "error").behavior });
    const response = await callRouter("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "cpk_midstream_raw" },
      body: JSON.stringify({ ...ASK, stream: true }),
    });
    const text = await response.text();
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((match) => match[1]);
    expect(events).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "error",
    ]);
    expect(text).toContain('"type":"api_error"');
    serveUpstream(stub(), { [ALPHA]: streamBody(chunks, "error").behavior });
    // A client of its own: the broken stream just moved the first one's sticky model on.
    await expect(
      client({ apiKey: "cpk_midstream_sdk" }).messages.stream(ASK).finalMessage(),
    ).rejects.toBeInstanceOf(Anthropic.APIError);
  });

  it("counts an upstream error event inside a 200 stream against the model's breaker", async () => {
    const events = [
      ...sse([{ content: "partial" }], "stop").slice(0, 1),
      'data: {"error":{"message":"Unhandled exception during response stream"}}\n\n',
    ];
    serveUpstream(stub(), { [ALPHA]: streamBody(events, "close").behavior });
    await expect(
      client({ apiKey: "cpk_error_event" }).messages.stream(ASK).finalMessage(),
    ).rejects.toBeInstanceOf(Anthropic.APIError);
    await settle();
    forgetCachedView();
    expect((await controlPlaneStub(env).getView()).breakers[ALPHA]?.consecutiveFailures).toBe(1);
  });

  it("answers count_tokens with an estimate that errs high", async () => {
    const counted = await client().messages.countTokens({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: "a".repeat(400) }],
    });
    expect(counted.input_tokens).toBeGreaterThanOrEqual(100);
  });
});

describe("errors in Anthropic's shape", () => {
  it.each([
    [400, '{"detail":"bad"}', Anthropic.BadRequestError, "invalid_request_error"],
    [401, '{"detail":"Invalid token."}', Anthropic.AuthenticationError, "authentication_error"],
    [403, '{"detail":"forbidden"}', Anthropic.PermissionDeniedError, "permission_error"],
    [404, '{"detail":"no such chute"}', Anthropic.NotFoundError, "not_found_error"],
    [429, '{"detail":"Too many requests, slow down"}', Anthropic.RateLimitError, "rate_limit_error"],
    [
      429,
      '{"detail":"Infrastructure is at maximum capacity, try again later"}',
      Anthropic.InternalServerError,
      "overloaded_error",
    ],
    [402, '{"detail":"Quota exceeded"}', Anthropic.APIError, "billing_error"],
    [500, '{"detail":"boom"}', Anthropic.InternalServerError, "api_error"],
    [504, '{"detail":"gateway timeout"}', Anthropic.InternalServerError, "timeout_error"],
  ])(
    "turns an upstream %i into the SDK's error class, type and request id",
    async (code, body, ErrorClass, type) => {
      serveUpstream(stub(), {
        [ALPHA]: status(code, body),
        [BETA]: status(code, body),
        [HEALTHY_RANKING[2] as string]: status(code, body),
      });
      const error = await client()
        .messages.create(ASK)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ErrorClass);
      const apiError = error as InstanceType<typeof Anthropic.APIError>;
      expect((apiError.error as { error: { type: string } }).error.type).toBe(type);
      expect(apiError.requestID).toMatch(/[0-9a-f-]{36}/);
      if (type === "overloaded_error") expect(apiError.status).toBe(529);
    },
  );

  it("answers a body over MAX_REQUEST_BYTES with 413 request_too_large", async () => {
    const error = await client({ vars: { MAX_REQUEST_BYTES: "200" } })
      .messages.create({ ...ASK, messages: [{ role: "user", content: "x".repeat(400) }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(413);
    expect(
      ((error as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string } }).error.type,
    ).toBe("request_too_large");
  });

  it("words an engine's context-length refusal the way Claude Code acts on, in direct mode and when nothing fits", async () => {
    const vllm =
      '{"object":"error","message":"This model\'s maximum context length is 32768 tokens. However, you requested 40000 tokens (38000 in the messages, 2000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","code":400}';
    serveUpstream(stub(), {
      [ALPHA]: status(400, vllm),
      [BETA]: status(400, vllm),
      [GAMMA]: status(400, vllm),
    });
    for (const model of [ALPHA, ASK.model]) {
      const error = (await client()
        .messages.create({ ...ASK, model })
        .catch((caught: unknown) => caught)) as InstanceType<typeof Anthropic.APIError>;
      expect(error.status).toBe(400);
      expect((error.error as { error: { message: string } }).error.message).toBe(
        "prompt is too long: 38000 tokens > 32768 maximum",
      );
    }
    // Direct mode passed its one refusal back. The alias moved on from ALPHA's refusal to GAMMA without asking
    // BETA, whose 32,768-token window cannot hold the 38,000 tokens the engine counted; then said so.
    expect(calledModels(stub())).toEqual([ALPHA, ALPHA, GAMMA]);
  });

  it("refuses a request without max_tokens as invalid_request_error naming the field", async () => {
    const response = await callRouter("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: JSON.stringify({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "Hi" }] }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("request-id")).toBeTruthy();
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(body.error.message).toContain("max_tokens");
  });

  it("answers 401 authentication_error in managed mode without a key, accepting x-api-key or a Bearer token", async () => {
    const vars = { ROUTER_API_KEYS: "rk_team", UPSTREAM_API_KEY: "cpk_upstream" };
    serveUpstream(stub(), { [ALPHA]: completion({ content: "ok" }, "stop") });
    await expect(client({ apiKey: "wrong", vars }).messages.create(ASK)).rejects.toBeInstanceOf(
      Anthropic.AuthenticationError,
    );
    expect((await client({ apiKey: "rk_team", vars }).messages.create(ASK)).content).toHaveLength(1);
    const upstream = stub()
      .calls.filter((call) => call.url === UPSTREAM_CHAT_URL)
      .at(-1);
    expect(upstream?.headers.get("authorization")).toBe("Bearer cpk_upstream");
    expect(upstream?.headers.get("x-api-key")).toBeNull();
    expect(upstream?.headers.get("anthropic-version")).toBeNull();
  });

  it("passes the client's x-api-key upstream as a Bearer token in passthrough mode", async () => {
    serveUpstream(stub(), { [ALPHA]: completion({ content: "ok" }, "stop") });
    await client({ apiKey: "cpk_passthrough" }).messages.create(ASK);
    const upstream = stub()
      .calls.filter((call) => call.url === UPSTREAM_CHAT_URL)
      .at(-1);
    expect(upstream?.headers.get("authorization")).toBe("Bearer cpk_passthrough");
  });
});

describe("stickiness for Claude Code", () => {
  it("keys the sticky model by the Claude Code session, whatever key carries it", async () => {
    const session = { "x-claude-code-session-id": "3f1c9a2e-session" };
    const ask = (apiKey: string) =>
      callRouter("/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": apiKey, ...session },
        body: JSON.stringify(ASK),
      });
    serveUpstream(stub(), { [ALPHA]: status(503, "{}"), [BETA]: completion({ content: "beta" }, "stop") });
    await (await ask("cpk_first_key")).text();
    await settle();
    serveUpstream(stub(), {});
    stub().calls.length = 0;
    await (await ask("cpk_other_key")).text();
    expect(calledModels(stub())).toEqual([BETA]);
  });
});

describe("GET /v1/models for Anthropic clients", () => {
  it("lists the models in Anthropic's format when anthropic-version is sent", async () => {
    const list = await client().models.list();
    const ids = list.data.map((model) => model.id);
    expect(ids.slice(0, 2)).toEqual(["chutesai/AutoPilot", "chutesai/AutoPilot-TEE"]);
    expect(list.data[0]).toMatchObject({ type: "model", display_name: "chutesai/AutoPilot" });
  });
});
