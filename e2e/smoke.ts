// `npm run smoke`: the fake Chutes and the router under `wrangler dev`, driven over real sockets by the official
// `openai` SDK and the Vercel AI SDK, checking what a user would see. Writes logs/smoke/latest.json and exits
// non-zero on any failure. Loopback only; every wait is bounded.
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { promisify } from "node:util";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import Anthropic from "@anthropic-ai/sdk";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import type { Behavior } from "../fake-chutes/behaviors.ts";
import { DEFAULT_RANKING } from "../fake-chutes/catalogue.ts";
import { startFakeChutes } from "../fake-chutes/server.ts";
import { freePort } from "./ports.ts";
import { assert, assertEqual, eventually, runScenarios, type Scenario, writeReport } from "./runner.ts";
import { capabilityScenarios, resetRealFeed } from "./smoke-capabilities.ts";
import { startStack } from "./stack.ts";

const [FAST, FLAKY, TEE, SLOW, TEE_BACKUP] = DEFAULT_RANKING as [string, string, string, string, string];
const ALIAS = "chutesai/AutoPilot";
const MESSAGES = [{ role: "user" as const, content: "Hello" }];
const EXPECTED_TEXT = "chunk 0 chunk 1 chunk 2 chunk 3 chunk 4 ";
const COOLDOWN_MS = 2000;
const SNAPSHOT_MAX_AGE_MS = 2500;

// Short limits so every failure mode shows within a second or two.
const SMOKE_VARS = {
  UPSTREAM_HEADER_TIMEOUT_MS: "800",
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "800",
  UPSTREAM_IDLE_TIMEOUT_MS: "800",
  UTILIZATION_REFRESH_MS: "400",
  MODELS_REFRESH_MS: "2000",
  CONTROL_PLANE_TIMEOUT_MS: "800",
  READYZ_MAX_SNAPSHOT_AGE_MS: String(SNAPSHOT_MAX_AGE_MS),
  BREAKER_FAILURE_THRESHOLD: "3",
  BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
  // Isolates learn the control plane's breakers through their location's aggregator; a short period here.
  AGGREGATOR_FORWARD_MS: "200",
};

const execFileAsync = promisify(execFile);
const started = Date.now();
const stack = await startStack({ vars: SMOKE_VARS });
const { fake } = stack;
const base = `${stack.routerUrl}/v1`;
let keyCount = 0;

/** An SDK client with its own key, so each check has its own sticky identity. */
function openai(key = `cpk_smoke_${++keyCount}`): OpenAI {
  return new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

/** An Anthropic SDK client pointed at the router, as Claude Code would be (ANTHROPIC_BASE_URL, no /v1). */
function anthropic(key = `cpk_smoke_${++keyCount}`): Anthropic {
  return new Anthropic({ baseURL: stack.routerUrl, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

const CLAUDE_ASK = {
  model: "claude-sonnet-4-6",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Hi" }],
};

function script(model: string, behavior: Behavior): void {
  fake.setBehavior(model, behavior);
}

function upstreamCalls(model?: string) {
  return fake.requests().filter((entry) => model === undefined || entry.model === model);
}

async function rawChat(url: string, body: Record<string, unknown>, key = "cpk_smoke_raw"): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
}

async function statusJson(): Promise<{ candidates: Array<{ name: string; breaker: string }> }> {
  const response = await fetch(`${stack.routerUrl}/status`, { headers: { accept: "application/json" } });
  return (await response.json()) as { candidates: Array<{ name: string; breaker: string }> };
}

async function expectApiError(work: () => Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await work();
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error;
    throw new Error(`expected an OpenAI APIError, got ${String(error)}`);
  }
  throw new Error("expected the SDK to raise, it did not");
}

/** A list-mode failover: the first model misbehaves, the second answers, the SDK never notices. */
async function expectListFailover(broken: string, behavior: Behavior, reason: string) {
  script(broken, behavior);
  const { data, response } = await openai()
    .chat.completions.create({ model: `${broken},${FAST}`, messages: MESSAGES })
    .withResponse();
  assertEqual(data.model, FAST, `answering model after ${reason}`);
  assertEqual(data.choices[0]?.message.content, EXPECTED_TEXT, "content");
  assertEqual(response.headers.get("x-chutes-autopilot-attempts"), "2", "attempts header");
  assertEqual(
    upstreamCalls().map((e) => e.model),
    [broken, FAST],
    "models the fake saw",
  );
}

/** Passthrough: the client gets exactly the bytes Chutes sent, and no other model is tried. */
async function expectPassthrough(model: string, behavior: Behavior, status: number) {
  script(model, behavior);
  const direct = await rawChat(fake.url, { model, messages: MESSAGES });
  const expectedBody = await direct.text();
  fake.clearRequests();
  const routed = await rawChat(stack.routerUrl, { model: `${model},${FAST}`, messages: MESSAGES });
  assertEqual(routed.status, status, "status");
  assertEqual(await routed.text(), expectedBody, "body bytes");
  assertEqual(
    upstreamCalls().map((e) => e.model),
    [model],
    "models the fake saw",
  );
  const error = await expectApiError(() => openai().chat.completions.create({ model, messages: MESSAGES }));
  assertEqual(error.status, status, "SDK error status");
}

const scenarios: Scenario[] = [
  {
    name: "Anthropic SDK, streaming: thinking, text and a tool call through the alias, with exact usage",
    run: async () => {
      script(FAST, {
        kind: "healthy",
        reasoning: "Thinking it over",
        toolCalls: [{ id: "functions.Bash:0", name: "Bash", arguments: '{"command":"ls -la"}' }],
      });
      const tools = [{ name: "Bash", input_schema: { type: "object" as const, properties: {} } }];
      const final = await anthropic()
        .messages.stream({ ...CLAUDE_ASK, tools })
        .finalMessage();
      assertEqual(
        final.content.map((block) => block.type),
        ["thinking", "text", "tool_use"],
        "block order",
      );
      const tool = final.content.find((block) => block.type === "tool_use");
      assertEqual(tool?.type === "tool_use" ? tool.input : null, { command: "ls -la" }, "tool input");
      assertEqual(final.stop_reason, "tool_use", "stop_reason");
      assert(final.usage.input_tokens > 0 && final.usage.output_tokens > 0, "usage from the upstream");
      const sent = JSON.parse(upstreamCalls(FAST).at(-1)?.body ?? "{}") as {
        stream_options?: { include_usage?: boolean };
      };
      assertEqual(sent.stream_options?.include_usage, true, "include_usage asked upstream");
    },
  },
  {
    name: "Anthropic SDK: failover before the first byte is invisible, and an overload answer is 529 overloaded_error",
    run: async () => {
      script(FAST, { kind: "status", status: 503 });
      const message = await anthropic().messages.create(CLAUDE_ASK);
      assertEqual(message.content[0]?.type, "text", "answered");
      assertEqual(
        upstreamCalls().map((entry) => entry.model),
        [FAST, FLAKY],
        "models tried",
      );
      for (const model of DEFAULT_RANKING) script(model, { kind: "overloaded" });
      const error = await anthropic()
        .messages.create(CLAUDE_ASK)
        .catch((caught: unknown) => caught);
      assert(error instanceof Anthropic.InternalServerError, `an InternalServerError, got ${String(error)}`);
      assertEqual((error as InstanceType<typeof Anthropic.APIError>).status, 529, "status");
    },
  },
  {
    name: "alias, non-streaming (openai SDK): the best-ranked model answers and is named",
    run: async () => {
      const { data, response } = await openai()
        .chat.completions.create({ model: ALIAS, messages: MESSAGES })
        .withResponse();
      assertEqual(data.model, FAST, "model");
      assertEqual(data.choices[0]?.message.content, EXPECTED_TEXT, "content");
      assertEqual(response.headers.get("x-chutes-autopilot-selected"), FAST, "selected header");
      assert(response.headers.get("x-request-id"), "x-request-id header");
    },
  },
  {
    name: "alias, streaming (openai SDK): deltas arrive in order and add up to the answer",
    run: async () => {
      const stream = await openai().chat.completions.create({
        model: ALIAS,
        messages: MESSAGES,
        stream: true,
      });
      let text = "";
      let chunks = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        chunks += 1;
      }
      assertEqual(text, EXPECTED_TEXT, "streamed text");
      assert(chunks >= 5, `expected at least 5 chunks, got ${chunks}`);
    },
  },
  {
    name: "TEE alias and text completions route to a confidential-compute model",
    run: async () => {
      const { data, response } = await openai()
        .completions.create({ model: "chutesai/AutoPilot-TEE", prompt: "Hello" })
        .withResponse();
      assertEqual(response.headers.get("x-chutes-autopilot-selected"), TEE, "selected TEE model");
      assertEqual(data.choices[0]?.text, EXPECTED_TEXT, "text");
    },
  },
  {
    name: "Vercel AI SDK: generateText and streamText through the alias",
    run: async () => {
      const provider = createOpenAICompatible({
        name: "autopilot",
        baseURL: base,
        apiKey: "cpk_smoke_ai_sdk",
      });
      const generated = await generateText({ model: provider(ALIAS), prompt: "Hello", maxRetries: 0 });
      assertEqual(generated.text, EXPECTED_TEXT, "generateText");
      const streamed = streamText({ model: provider(ALIAS), prompt: "Hello", maxRetries: 0 });
      let text = "";
      for await (const part of streamed.textStream) text += part;
      assertEqual(text, EXPECTED_TEXT, "streamText");
    },
  },
  {
    name: "Responses API (openai SDK): responses.stream() gets reasoning and text, then a function call round trip",
    run: async () => {
      script(FAST, { kind: "healthy", chunks: 2, reasoning: "Thinking it over" });
      const deltas: string[] = [];
      const stream = openai().responses.stream({ model: ALIAS, input: "Hello" });
      stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
      const first = await stream.finalResponse();
      assertEqual(
        first.output.map((item) => item.type),
        ["reasoning", "message"],
        "output items",
      );
      assertEqual(first.output_text, "chunk 0 chunk 1 ", "output_text");
      assertEqual(deltas.join(""), first.output_text, "deltas add up to the text");
      assert((first.usage?.input_tokens ?? 0) > 0 && (first.usage?.output_tokens ?? 0) > 0, "usage");

      const tools = [
        {
          type: "function" as const,
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          strict: false,
        },
      ];
      const client = openai();
      script(FAST, {
        kind: "healthy",
        chunks: 0,
        toolCalls: [{ name: "get_weather", arguments: '{"city":"Paris"}' }],
      });
      const asked = await client.responses
        .stream({ model: ALIAS, input: "Weather in Paris?", tools })
        .finalResponse();
      const call = asked.output.find((item) => item.type === "function_call");
      assertEqual(
        call?.type === "function_call" ? [call.name, call.arguments] : null,
        ["get_weather", '{"city":"Paris"}'],
        "the call",
      );
      if (call?.type !== "function_call") return;
      script(FAST, { kind: "healthy", chunks: 1 });
      const answered = await client.responses.create({
        model: ALIAS,
        input: [
          { role: "user", content: "Weather in Paris?" },
          call,
          { type: "function_call_output", call_id: call.call_id, output: "Sunny" },
        ],
        tools,
      });
      assertEqual(answered.output_text, "chunk 0 ", "the answer after the tool ran");
      const sent = JSON.parse(upstreamCalls(FAST).at(-1)?.body ?? "{}") as {
        messages: unknown[];
      };
      assertEqual(
        sent.messages.at(-1),
        { role: "tool", tool_call_id: call.call_id, content: "Sunny", name: "get_weather" },
        "the tool result sent upstream",
      );
    },
  },
  {
    name: "Responses API (Vercel AI SDK's Responses provider): streamText with reasoning, and generateText",
    run: async () => {
      const provider = createOpenAI({ baseURL: base, apiKey: "cpk_smoke_ai_sdk_responses" });
      script(FAST, { kind: "healthy", reasoning: "Hmm let me see" });
      const streamed = streamText({
        model: provider.responses(ALIAS),
        prompt: "Hello",
        maxRetries: 0,
        providerOptions: { openai: { store: false } },
      });
      let text = "";
      for await (const part of streamed.textStream) text += part;
      assertEqual(text, EXPECTED_TEXT, "streamText");
      assertEqual(await streamed.reasoningText, "Hmm let me see", "reasoning");
      const generated = await generateText({
        model: provider.responses(ALIAS),
        prompt: "Hello",
        maxRetries: 0,
      });
      assertEqual(generated.text, EXPECTED_TEXT, "generateText");
    },
  },
  {
    name: "list failover: slow headers → the next model",
    run: () => expectListFailover(SLOW, { kind: "slow_headers", delayMs: 3000 }, "a header timeout"),
  },
  {
    name: "list failover: no first body byte in time → the next model",
    run: () => expectListFailover(FLAKY, { kind: "slow_first_byte", delayMs: 3000 }, "a first-byte timeout"),
  },
  {
    name: "list failover: connection reset before headers → the next model",
    run: () => expectListFailover(TEE_BACKUP, { kind: "reset_before_headers" }, "a reset"),
  },
  {
    name: "list failover: 503 → the next model",
    run: () => expectListFailover(TEE, { kind: "status", status: 503 }, "a 503"),
  },
  {
    name: "alias failover: an overload 429 on the best model → the second-best answers",
    run: async () => {
      script(FAST, { kind: "overloaded" });
      const { data, response } = await openai()
        .chat.completions.create({ model: ALIAS, messages: MESSAGES })
        .withResponse();
      assertEqual(data.model, FLAKY, "answering model");
      assertEqual(response.headers.get("x-chutes-autopilot-attempts"), "2", "attempts");
    },
  },
  {
    name: "a user 429 passes through with Chutes' exact body",
    run: () => expectPassthrough(SLOW, { kind: "status", status: 429 }, 429),
  },
  {
    name: "a 401 Invalid token passes through with Chutes' exact body",
    run: () => expectPassthrough(SLOW, { kind: "status", status: 401 }, 401),
  },
  {
    name: "the edge's HTML 429 passes through untouched",
    run: () => expectPassthrough(SLOW, { kind: "html_429" }, 429),
  },
  {
    name: "resume: a mid-stream reset continues on another attempt, and the SDK reads the whole answer once",
    run: async () => {
      script(FAST, { kind: "reset_mid_stream", afterChunks: 2, times: 1 });
      const stream = await openai().chat.completions.create({
        model: ALIAS,
        messages: MESSAGES,
        stream: true,
      });
      let text = "";
      const ids = new Set<string>();
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        ids.add(chunk.id);
      }
      assertEqual(text, EXPECTED_TEXT, "the whole answer, once");
      assertEqual(ids.size, 1, "one completion id");
      const calls = upstreamCalls();
      assertEqual(calls.length, 2, "upstream requests: the stream, then its continuation");
      const continuation = JSON.parse(calls[1]?.body ?? "{}") as Record<string, unknown>;
      assertEqual(
        [continuation.model, continuation.continue_final_message, continuation.add_generation_prompt],
        [FAST, true, false],
        "the continuation asked the same model to go on",
      );
    },
  },
  {
    name: "a stalled stream that cannot be continued ends with the upstream_stream_error SSE event, which the SDK raises",
    run: async () => {
      script(FAST, { kind: "stall_mid_stream", afterChunks: 1 });
      // A response format cannot be continued (a grammar cannot resume half-written JSON).
      const stream = await openai().chat.completions.create({
        model: ALIAS,
        messages: MESSAGES,
        stream: true,
        response_format: { type: "json_object" },
      });
      const error = await expectApiError(async () => {
        for await (const _chunk of stream) {
          // drain
        }
      });
      assertEqual(error.code, "upstream_stream_error", "error code");
      assertEqual(upstreamCalls().length, 1, "upstream requests");
    },
  },
  {
    name: "stickiness: a client stays on the model that answered it, and rotates after a failure",
    run: async () => {
      const client = openai("cpk_smoke_sticky");
      script(FAST, { kind: "status", status: 503, times: 1 });
      const first = await client.chat.completions.create({ model: ALIAS, messages: MESSAGES });
      assertEqual(first.model, FLAKY, "first answer after the best model failed");
      const again = await client.chat.completions.create({ model: ALIAS, messages: MESSAGES });
      assertEqual(again.model, FLAKY, "the same client stays on its model");
      const stranger = await openai().chat.completions.create({ model: ALIAS, messages: MESSAGES });
      assertEqual(stranger.model, FAST, "another client gets the best model");
      script(FLAKY, { kind: "status", status: 503, times: 1 });
      fake.clearRequests();
      const rotated = await client.chat.completions.create({ model: ALIAS, messages: MESSAGES });
      assertEqual(rotated.model, FAST, "after its model failed, the client moves on");
      assertEqual(
        upstreamCalls().map((e) => e.model),
        [FLAKY, FAST],
        "sticky model tried first",
      );
      const after = await client.chat.completions.create({ model: ALIAS, messages: MESSAGES });
      assertEqual(after.model, FAST, "and stays where it landed");
    },
  },
  {
    name: "a breaker opens after three failures, skips the model, and closes after its cooldown",
    run: async () => {
      script(FLAKY, { kind: "status", status: 503 });
      for (let i = 0; i < 3; i++) {
        await openai().chat.completions.create({ model: `${FLAKY},${FAST}`, messages: MESSAGES });
      }
      await eventually(
        "breaker open",
        async () => (await statusJson()).candidates.find((c) => c.name === FLAKY)?.breaker === "open",
      );
      // The isolate's view follows within an aggregator period and its view cache's second.
      await eventually("the router skips the open model", async () => {
        fake.clearRequests();
        const skipped = await openai().chat.completions.create({
          model: `${FLAKY},${FAST}`,
          messages: MESSAGES,
        });
        return skipped.model === FAST && upstreamCalls(FLAKY).length === 0;
      });
      fake.setBehavior(FLAKY, { kind: "healthy" });
      await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 200));
      const probe = await openai().chat.completions.create({ model: `${FLAKY},${FAST}`, messages: MESSAGES });
      assertEqual(probe.model, FLAKY, "the half-open probe goes to the recovered model");
      await eventually(
        "breaker closed",
        async () => (await statusJson()).candidates.find((c) => c.name === FLAKY)?.breaker === "closed",
      );
    },
  },
  {
    name: "/readyz goes stale when the feeds stop answering and ready again when they return",
    run: async () => {
      fake.setFeed("utilization", { mode: "silent" });
      fake.setFeed("models", { mode: "silent" });
      const stale = await eventually(
        "stale_snapshot",
        async () => {
          const response = await fetch(`${stack.routerUrl}/readyz`);
          const body = await response.text();
          return response.status === 503 && body.includes("stale_snapshot") && body;
        },
        SNAPSHOT_MAX_AGE_MS + 4000,
      );
      assert(stale.includes('"type":"not_ready"'), "not_ready body");
      fake.setFeed("utilization", { mode: "ok" });
      fake.setFeed("models", { mode: "ok" });
      await eventually(
        "ready again",
        async () => (await fetch(`${stack.routerUrl}/readyz`)).status === 200,
        6000,
      );
    },
  },
  {
    name: "a client abort cancels the upstream request",
    run: async () => {
      script(FAST, { kind: "healthy", chunks: 50, intervalMs: 100 });
      const controller = new AbortController();
      const stream = await openai().chat.completions.create(
        { model: ALIAS, messages: MESSAGES, stream: true },
        { signal: controller.signal },
      );
      try {
        for await (const _chunk of stream) {
          controller.abort();
        }
      } catch {
        // the SDK may raise on abort
      }
      await eventually(
        "the fake to see the cancel",
        async () => upstreamCalls(FAST)[0]?.cancelled === true,
        5000,
      );
    },
  },
  {
    name: "50 concurrent streams arrive byte for byte as the fake sent them",
    run: async () => {
      const body = { model: FAST, messages: MESSAGES, stream: true };
      const expected = await (await rawChat(fake.url, body)).text();
      const bodies = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const response = await rawChat(
            stack.routerUrl,
            { ...body, model: ALIAS },
            `cpk_smoke_concurrent_${i}`,
          );
          return { status: response.status, text: await response.text() };
        }),
      );
      for (const [i, result] of bodies.entries()) {
        assertEqual(result.status, 200, `stream ${i} status`);
        assert(result.text === expected, `stream ${i} differs from what the fake sent`);
      }
    },
  },
  {
    name: "managed keys: 401 without a listed key; with one, upstream gets the router's key, never the client's",
    run: async () => {
      const managed = await startStack({
        fake,
        vars: {
          ...SMOKE_VARS,
          ROUTER_API_KEYS: "rk_smoke_one,rk_smoke_two",
          UPSTREAM_API_KEY: "cpk_smoke_upstream",
        },
      });
      try {
        const url = `${managed.routerUrl}/v1`;
        const denied = await expectApiError(() =>
          new OpenAI({ baseURL: url, apiKey: "rk_not_listed", maxRetries: 0 }).chat.completions.create({
            model: ALIAS,
            messages: MESSAGES,
          }),
        );
        assertEqual(denied.status, 401, "status without a listed key");
        assertEqual(denied.code, "invalid_api_key", "error code");
        assertEqual(upstreamCalls().length, 0, "upstream requests when denied");
        const reply = await new OpenAI({
          baseURL: url,
          apiKey: "rk_smoke_two",
          maxRetries: 0,
        }).chat.completions.create({
          model: ALIAS,
          messages: MESSAGES,
        });
        assertEqual(reply.choices[0]?.message.content, EXPECTED_TEXT, "content with a listed key");
        const seen = upstreamCalls()[0]?.headers.authorization;
        assertEqual(seen, "Bearer cpk_smoke_upstream", "authorization upstream");
      } finally {
        await managed.stop();
      }
    },
  },
  {
    name: "managed keys: a key made with `npm run keys` works until its budget is spent (402), then revoked is 401",
    run: async () => {
      const managed = await startStack({
        fake,
        vars: { ...SMOKE_VARS, ADMIN_API_KEY: "adm_smoke_secret", UPSTREAM_API_KEY: "cpk_smoke_upstream" },
      });
      try {
        const cli = { ROUTER_URL: managed.routerUrl, ADMIN_API_KEY: "adm_smoke_secret" };
        // The fake prices every model at $0.1/$0.3 per million tokens: a few answers' worth.
        const created = JSON.parse(
          await keysCli(["create", "--name", "smoke", "--budget-usd", "0.00002", "--rpm", "600"], cli),
        ) as { id: string; key: string };
        assert(created.key.startsWith("sk-ap-"), "the CLI prints the new key");
        const client = new OpenAI({ baseURL: `${managed.routerUrl}/v1`, apiKey: created.key, maxRetries: 0 });
        let answered = 0;
        let refusal: InstanceType<typeof OpenAI.APIError> | null = null;
        while (refusal === null && answered < 50) {
          try {
            await client.chat.completions.create({ model: ALIAS, messages: MESSAGES, max_tokens: 20 });
            answered += 1;
          } catch (error) {
            if (!(error instanceof OpenAI.APIError)) throw error;
            refusal = error;
          }
        }
        assert(answered >= 1, "the key answered before its budget ran out");
        assertEqual(refusal?.status, 402, "status once the budget is spent");
        assertEqual(refusal?.code, "budget_exceeded", "error code");
        assertEqual(
          (refusal?.error as { type?: string } | undefined)?.type,
          "insufficient_quota",
          "error type",
        );
        assert((await keysCli(["list"], cli)).includes(created.id), "the CLI lists the key");
        await keysCli(["revoke", created.id], cli);
        const denied = await eventually("the revoked key refused", async () => {
          const error = await expectApiError(() =>
            client.chat.completions.create({ model: ALIAS, messages: MESSAGES, max_tokens: 20 }),
          );
          return error.status === 401 ? error : undefined;
        });
        assert(denied instanceof OpenAI.AuthenticationError, "the SDK raises AuthenticationError");
      } finally {
        await managed.stop();
      }
    },
  },
  {
    name: "rollouts with `npm run rollouts`: a healthy candidate advances step by step and is promoted; a failing one is rolled back and the webhook hears both",
    run: async () => {
      const hooks: Array<{ text: string }> = [];
      const receiver = createServer((request, response) => {
        let body = "";
        request.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        request.on("end", () => {
          hooks.push(JSON.parse(body) as { text: string });
          response.end("ok");
        });
      });
      const port = await freePort();
      await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", resolve));
      const admin = "adm_smoke_rollouts";
      const clients = Array.from({ length: 60 }, (_, i) => `rk_smoke_rollout_${i}`);
      const rolled = await startStack({
        fake,
        vars: {
          ...SMOKE_VARS,
          ADMIN_API_KEY: admin,
          UPSTREAM_API_KEY: "cpk_smoke_upstream",
          ROUTER_API_KEYS: clients.join(","),
          ROLLOUT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
        },
      });
      try {
        const env = { ROUTER_URL: rolled.routerUrl, ADMIN_API_KEY: admin };
        const show = async (id: string) =>
          JSON.parse(await rolloutsCli(["show", id, "--json"], env)) as {
            state: string;
            weight: number;
            events: Array<{ kind: string; reason: string }>;
          };
        /** One request from every client; the models that answered. */
        const traffic = async () =>
          Promise.all(
            clients.map(async (apiKey) => {
              const client = new OpenAI({ baseURL: `${rolled.routerUrl}/v1`, apiKey, maxRetries: 0 });
              try {
                return (await client.chat.completions.create({ model: ALIAS, messages: MESSAGES })).model;
              } catch (error) {
                return error instanceof OpenAI.APIError ? String(error.status) : "error";
              }
            }),
          );
        const healthy = JSON.parse(
          await rolloutsCli(
            [
              "create",
              "--name",
              "flaky-model trial",
              "--match",
              ALIAS,
              "--candidate",
              FLAKY,
              "--steps",
              "50,100",
            ].concat(["--step-minutes", "0.05", "--min-requests", "5", "--min-sessions", "3"]),
            env,
          ),
        ) as { id: string };
        const seen = new Set<string>();
        const promoted = await eventually(
          "the healthy rollout promoted",
          async () => {
            for (const model of await traffic()) seen.add(model);
            const view = await show(healthy.id);
            return view.state === "promoted" || view.state === "aborted" ? view : undefined;
          },
          30_000,
        );
        assertEqual(
          promoted.state,
          "promoted",
          `the healthy rollout's end (${promoted.events.map((event) => `${event.kind}: ${event.reason}`).join("; ")})`,
        );
        assert(seen.has(FLAKY) && seen.has(FAST), `both arms answered: ${[...seen].join(", ")}`);
        assertEqual(
          promoted.events.map((event) => event.kind),
          ["created", "advanced", "promoted"],
          "the healthy rollout's history",
        );

        fake.setBehavior(TEE_BACKUP, { kind: "status", status: 503 });
        const failing = JSON.parse(
          await rolloutsCli(
            [
              "create",
              "--name",
              "bad trial",
              "--match",
              ALIAS,
              "--candidate",
              TEE_BACKUP,
              "--steps",
              "50,100",
              "--step-minutes",
              "60",
            ],
            env,
          ),
        ) as { id: string };
        const aborted = await eventually(
          "the failing rollout aborted",
          async () => {
            await traffic();
            const view = await show(failing.id);
            return view.state === "aborted" ? view : undefined;
          },
          30_000,
        );
        assert(aborted.events.at(-1)?.reason.includes("fast guard") === true, "aborted by the fast guard");
        assertEqual(new Set(await traffic()), new Set([FLAKY]), "every session back on the promoted routing");
        const human = await rolloutsCli(["show", failing.id], env);
        assert(human.includes("aborted"), "the CLI shows the history");
        const texts = await eventually("both webhook calls", async () =>
          hooks.length >= 2 ? hooks.map((hook) => hook.text) : undefined,
        );
        assert(
          texts.some((text) => text.includes("promoted")) && texts.some((text) => text.includes("aborted")),
          `webhook texts: ${texts.join(" | ")}`,
        );
      } finally {
        await rolled.stop();
        receiver.close();
      }
    },
  },
  {
    name: "recording: an Anthropic SDK session is recorded redacted, read back and erased with `npm run records`",
    run: async () => {
      const admin = "adm_smoke_records";
      const recorded = await startStack({
        fake,
        vars: {
          ...SMOKE_VARS,
          ADMIN_API_KEY: admin,
          UPSTREAM_API_KEY: "cpk_smoke_upstream",
          RECORDING: "redacted",
          RECORDING_REDACTION_KEY: "smoke-redaction-key",
        },
      });
      try {
        const env = { ROUTER_URL: recorded.routerUrl, ADMIN_API_KEY: admin };
        const { key } = JSON.parse(await keysCli(["create", "--name", "recorded"], env)) as { key: string };
        const client = new Anthropic({ baseURL: recorded.routerUrl, apiKey: key, maxRetries: 0 });
        const session = `smoke-${Date.now()}`;
        const email = "ada.lovelace@example.com";
        const history: Anthropic.MessageParam[] = [];
        for (const prompt of [`Mail ${email} please`, `And copy ${email} again`]) {
          history.push({ role: "user", content: prompt });
          const reply = await client.messages
            .stream({
              model: "claude-sonnet-4-6",
              max_tokens: 64,
              messages: history,
              metadata: { user_id: JSON.stringify({ session_id: session }) },
            })
            .finalMessage();
          history.push({ role: "assistant", content: reply.content });
        }
        const read = await eventually("both turns recorded", async () => {
          const text = await recordsCli(["session", session, "--json"], env).catch(() => "");
          const parsed = text ? (JSON.parse(text) as { turns: unknown[] }) : null;
          return parsed?.turns.length === 2 ? text : undefined;
        });
        assert(/<EMAIL:[0-9a-f]{8}>/.test(read), "the address reads as its token");
        assert(!read.includes(email), "the address itself was not stored");
        const human = await recordsCli(["session", session], env);
        assert(human.includes("turn 2"), "the readable session shows its turns");
        const erased = JSON.parse(await recordsCli(["delete", "--session", session], env)) as {
          records: number;
        };
        assertEqual(erased.records, 2, "records erased");
        const listed = await recordsCli(["list", "--session", session, "--json"], env);
        assertEqual((JSON.parse(listed) as { data: unknown[] }).data.length, 0, "records left after erasure");
      } finally {
        await recorded.stop();
      }
    },
  },
];

/** Runs `npm run keys -- …` (scripts/keys.ts) with `env` and returns what it printed on stdout. */
function keysCli(args: string[], env: Record<string, string>): Promise<string> {
  return cli("scripts/keys.ts", args, env);
}

/** Runs `npm run rollouts -- …` (scripts/rollouts.ts) with `env` and returns what it printed on stdout. */
function rolloutsCli(args: string[], env: Record<string, string>): Promise<string> {
  return cli("scripts/rollouts.ts", args, env);
}

/** Runs `npm run records -- …` (scripts/records.ts) with `env` and returns what it printed on stdout. */
function recordsCli(args: string[], env: Record<string, string>): Promise<string> {
  return cli("scripts/records.ts", args, env);
}

async function cli(script: string, args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    timeout: 15_000,
  });
  return stdout;
}

/** Between checks: the fake back to healthy, then one direct success per model closes any breaker. */
async function resetBetween(): Promise<void> {
  fake.reset();
  await Promise.all(
    DEFAULT_RANKING.map(async (model) =>
      (await rawChat(stack.routerUrl, { model, messages: MESSAGES })).text(),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 150));
  fake.clearRequests();
}

let results: Awaited<ReturnType<typeof runScenarios>> = [];
try {
  await resetBetween();
  results = await runScenarios("smoke", scenarios, resetBetween);
} finally {
  await stack.stop();
}
// A second stack on the real feeds of 2026-02-18, whose engines refuse what does not fit (docs/contract.md §16).
const real = await startStack({ vars: SMOKE_VARS, fake: await startFakeChutes({ catalogue: "real" }) });
try {
  results.push(
    ...(await runScenarios("smoke (real feed)", capabilityScenarios(real), () => resetRealFeed(real.fake))),
  );
} finally {
  await real.stop();
  await real.fake.close();
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
await writeReport("logs/smoke/latest.json", {
  startedAt: new Date(started).toISOString(),
  durationMs: Date.now() - started,
  passed,
  failed,
  scenarios: results,
});
console.log(`\nsmoke: report in logs/smoke/latest.json`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
