// Serving only where a request fits (docs/contract.md §16), on the real Chutes feeds of 2026-02-18, with every
// upstream model played by an engine that refuses what its feed entry says it cannot serve, in vLLM's or
// SGLang's wording (fake-chutes/engine-limits.ts): AutoPilot sends each request to the best model that can
// serve it with no refusal on the way, lowers the output it asks for to what fits, moves on past an engine
// that refuses anyway and remembers it, passes refusals back in direct mode, and says clearly when nothing fits.
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type EngineLimits, limitsFromEntry, refuseIfUnfit } from "../fake-chutes/engine-limits.ts";
import models from "../fixtures/chutes-models-2026-02-18.json";
import utilization from "../fixtures/chutes-utilization-2026-02-18.json";
import { isolateState } from "../src/isolate/isolate-state.ts";
import { controlPlaneStub } from "../src/state/control-plane.ts";
import { type CapturedRequest, CLAUDE_CODE, longToolSession } from "./support/claude-code.ts";
import { chatRequest } from "./support/requests.ts";
import {
  callRouter,
  callRouterWith,
  forgetCachedView,
  resetControlPlane,
  runCron,
  settle,
} from "./support/router.ts";
import { FEED_URLS, type FetchStub, jsonResponse, stubFetch } from "./support/stub-fetch.ts";
import { calledModels, UPSTREAM_CHAT_URL } from "./support/upstream.ts";

const QWEN_32B = "Qwen/Qwen3-32B"; // 40,960 tokens, text, tools; ranked first
const MISTRAL_SMALL = "chutesai/Mistral-Small-3.1-24B-Instruct-2503"; // 131,072, image, tools; second
const DEEPSEEK_TEE = "deepseek-ai/DeepSeek-V3-0324-TEE"; // 163,840, text, tools; third
const NEMO = "unsloth/Mistral-Nemo-Instruct-2407"; // 131,072, text, no tools
const ALIAS = "chutesai/AutoPilot";
const ENTRIES = new Map(models.data.map((entry) => [entry.id, entry as Record<string, unknown>]));

/** Clients so far: each request comes from a client of its own, so no sticky model steers it. */
let clients = 0;
/** Models whose engine serves other limits than their entry states, for the current test. */
let served: Map<string, EngineLimits>;
let stub: FetchStub;

beforeEach(async () => {
  stub = stubFetch();
  served = new Map();
  await resetControlPlane();
  stub.on(FEED_URLS.utilization, () => jsonResponse(utilization));
  stub.on(FEED_URLS.models, () => jsonResponse(models));
  stub.on(UPSTREAM_CHAT_URL, engine);
  await runCron();
  // A warm isolate has the routing view; list and direct modes never wait for one (docs/contract.md §3).
  await isolateState(env).views.load(Date.now());
});
afterEach(async () => {
  await settle();
  forgetLearnedLimits();
  stub.restore();
});

/** Chutes with an engine behind each model: refuses what does not fit, else answers "ok" (JSON or SSE). */
async function engine(request: Request): Promise<Response> {
  const body = (await request.json()) as Record<string, unknown>;
  const model = String(body.model);
  const entry = ENTRIES.get(model);
  const limits = served.get(model) ?? (entry ? limitsFromEntry(entry) : null);
  const refusal = limits ? refuseIfUnfit(model, body, limits) : null;
  if (refusal?.kind === "status")
    return new Response(refusal.body, { status: 400, headers: { "content-type": "application/json" } });
  if (refusal?.kind === "stream")
    return new Response(refusal.body, { status: 200, headers: { "content-type": "text/event-stream" } });
  const usage = { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 };
  if (body.stream === true) {
    const chunk = (fields: Record<string, unknown>) =>
      `data: ${JSON.stringify({ id: "c", model, ...fields })}\n\n`;
    const sse =
      chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "ok" } }] }) +
      chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
      chunk({ choices: [], usage }) +
      "data: [DONE]\n\n";
    return new Response(sse, { headers: { "content-type": "text/event-stream" } });
  }
  return jsonResponse({
    id: "c",
    object: "chat.completion",
    model,
    choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
    usage,
  });
}

/** Forgets what this isolate learned from refusals (the control plane's copy goes with resetControlPlane). */
function forgetLearnedLimits(): void {
  const { limits } = isolateState(env);
  for (const model of Object.keys(limits)) delete limits[model];
}

/** The bodies the router sent upstream, in order. */
function upstreamBodies(): Array<Record<string, unknown>> {
  return stub.calls
    .filter((call) => call.url === UPSTREAM_CHAT_URL)
    .map((call) => JSON.parse(call.body) as Record<string, unknown>);
}

/** English prose of about `tokens` tokens to a real tokenizer (the router's estimate is about a fifth more). */
function prose(tokens: number): string {
  return "The quick brown fox jumps over the lazy dog near the riverbank today. ".repeat(
    Math.ceil(tokens / 15),
  );
}

/** A chat completion from a client of its own, so no sticky model from another request steers it. */
function chat(body: Record<string, unknown>): Promise<Response> {
  return callRouter(
    "/v1/chat/completions",
    chatRequest({ model: ALIAS, ...body }, { authorization: `Bearer cpk_caps_${++clients}` }),
  );
}

function claudeCode(captured: CapturedRequest, change: (body: Record<string, unknown>) => void = () => {}) {
  const body = captured.body as Record<string, unknown>;
  change(body);
  return callRouter(captured.url, {
    method: "POST",
    headers: {
      ...captured.headers,
      "x-api-key": `cpk_caps_${++clients}`,
      "x-claude-code-session-id": crypto.randomUUID(),
    },
    body: JSON.stringify(body),
  });
}

const TOOLS = [
  { type: "function", function: { name: "Bash", parameters: { type: "object", properties: {} } } },
];
const SCREENSHOT = { type: "image_url", image_url: { url: "https://example.com/screen.png" } };

describe("AutoPilot on the real feed, with engines that refuse what does not fit", () => {
  it.each([
    ["a short chat", { messages: [{ role: "user", content: "hi" }] }, QWEN_32B],
    ["tools", { messages: [{ role: "user", content: "ls" }], tools: TOOLS }, QWEN_32B],
    [
      "a 60k-token prompt",
      { messages: [{ role: "user", content: prose(60_000) }], max_tokens: 1000 },
      MISTRAL_SMALL,
    ],
    ["an image", { messages: [{ role: "user", content: [SCREENSHOT] }] }, MISTRAL_SMALL],
  ])("sends %s to a model that can serve it, with no refusal on the way", async (_, body, expected) => {
    const response = await chat(body);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(expected);
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("1");
    expect(calledModels(stub)).toEqual([expected]);
    await response.text();
  });

  it("asks the chosen model for the output that fits it, keeping every other byte of the body", async () => {
    const raw = `{ "model" : "${ALIAS}", "messages":[{"role":"user","content":"${prose(20_000)}"}],"max_tokens": 128000, "temperature":1.0 }`;
    const response = await callRouter("/v1/chat/completions", chatRequest(raw));
    expect(response.status).toBe(200);
    const lowered = Number(response.headers.get("x-chutes-autopilot-max-tokens"));
    expect(lowered).toBeGreaterThan(4096);
    expect(lowered).toBeLessThan(40_960 - 20_000);
    const sent = stub.calls.find((call) => call.url === UPSTREAM_CHAT_URL)?.body;
    expect(sent).toBe(raw.replace(`"${ALIAS}"`, `"${QWEN_32B}"`).replace("128000", String(lowered)));
    await response.text();
  });

  it("sends no max-tokens header when the request already fits", async () => {
    const response = await chat({ messages: [{ role: "user", content: "hi" }], max_tokens: 100 });
    expect(response.headers.get("x-chutes-autopilot-max-tokens")).toBeNull();
    await response.text();
  });

  it("serves Claude Code's first request (20k tokens of prompt and tools, max_tokens 128000) on the top model", async () => {
    const response = await claudeCode(CLAUDE_CODE.firstRequest());
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(QWEN_32B);
    expect(Number(response.headers.get("x-chutes-autopilot-max-tokens"))).toBeLessThan(40_960);
    expect(await response.text()).toContain("event: message_stop");
    expect(calledModels(stub)).toEqual([QWEN_32B]);
  });

  it("serves a 70k-token Claude Code tool session on a model with room and tools", async () => {
    const response = await claudeCode(longToolSession(250_000));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(MISTRAL_SMALL);
    expect(calledModels(stub)).toEqual([MISTRAL_SMALL]);
    await response.text();
  });

  it("serves a 1.6 MB Claude Code request with a screenshot on a model that reads images", async () => {
    const captured = CLAUDE_CODE.screenshotToolResult(1_600_000);
    const response = await claudeCode(captured);
    expect(JSON.stringify(captured.body).length).toBeGreaterThan(1_600_000);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(MISTRAL_SMALL);
    expect(calledModels(stub)).toEqual([MISTRAL_SMALL]);
    await response.text();
  });
});

describe("an engine that refuses anyway", () => {
  it("moves the request on, is not held against the model's breaker, and is avoided by the next request", async () => {
    served.set(QWEN_32B, { windowTokens: 16_384, tools: true, images: false });
    const body = { messages: [{ role: "user", content: prose(20_000) }], max_tokens: 500 };
    const first = await chat(body);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-chutes-autopilot-selected")).toBe(MISTRAL_SMALL);
    expect(first.headers.get("x-chutes-autopilot-attempts")).toBe("2");
    expect(calledModels(stub)).toEqual([QWEN_32B, MISTRAL_SMALL]);
    await first.text();

    const second = await chat(body);
    expect(second.headers.get("x-chutes-autopilot-attempts")).toBe("1");
    expect(calledModels(stub)).toEqual([QWEN_32B, MISTRAL_SMALL, MISTRAL_SMALL]);
    await second.text();

    await settle();
    forgetCachedView();
    const view = await controlPlaneStub(env).getView();
    expect(view.breakers[QWEN_32B]).toBeUndefined();
    expect(view.limits[QWEN_32B]?.windowTokens).toBe(16_384);
  });

  it("uses the engine's count of the prompt for the candidates after it", async () => {
    // Whitespace is the one thing the estimate counts lighter than this engine: about 36k tokens by the
    // estimate, which fits Qwen's 40,960; the engine counts 42.5k and says so, and the next 40,960-token model
    // is skipped without being asked.
    const list = `${QWEN_32B},Qwen/Qwen3-14B,${MISTRAL_SMALL}`;
    const text = `x${" ".repeat(170_000)}`;
    const response = await chat({
      model: list,
      messages: [{ role: "user", content: text }],
      max_tokens: 100,
    });
    expect(response.status).toBe(200);
    expect(calledModels(stub)).toEqual([QWEN_32B, MISTRAL_SMALL]);
    await response.text();
  });

  it("moves on when the refusal comes as the first event of a 200 stream", async () => {
    served.set(QWEN_32B, { windowTokens: 16_384, tools: true, images: false, engine: "sglang-stream" });
    const response = await chat({
      messages: [{ role: "user", content: prose(20_000) }],
      max_tokens: 500,
      stream: true,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(MISTRAL_SMALL);
    const text = await response.text();
    expect(text).not.toContain("error");
    expect(text).toContain("data: [DONE]");
  });

  it("moves on from a stream's refusal in a hedged race too, without counting it against the model", async () => {
    served.set(QWEN_32B, { windowTokens: 16_384, tools: true, images: false, engine: "sglang-stream" });
    const body = {
      model: ALIAS,
      messages: [{ role: "user", content: prose(20_000) }],
      max_tokens: 500,
      stream: true,
    };
    const response = await callRouterWith(
      { HEDGE_AFTER_MS: "200" },
      "/v1/chat/completions",
      chatRequest(body),
    );
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(MISTRAL_SMALL);
    expect(await response.text()).toContain("data: [DONE]");
    await settle();
    forgetCachedView();
    expect((await controlPlaneStub(env).getView()).breakers[QWEN_32B]).toBeUndefined();
  });

  it("passes a refusal back as it came in direct mode, in OpenAI's shape", async () => {
    served.set(QWEN_32B, { windowTokens: 16_384, tools: true, images: false });
    const response = await chat({ model: QWEN_32B, messages: [{ role: "user", content: prose(20_000) }] });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/maximum context length is 16384 tokens/);
    expect(calledModels(stub)).toEqual([QWEN_32B]);
  });

  it("passes a refusal back in direct mode in the words Claude Code acts on", async () => {
    served.set(QWEN_32B, { windowTokens: 16_384, tools: true, images: false });
    const response = await callRouter("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({
        model: QWEN_32B,
        max_tokens: 1000,
        messages: [{ role: "user", content: prose(20_000) }],
      }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(/^prompt is too long: \d+ tokens > 16384 maximum$/);
  });
});

describe("when nothing fits", () => {
  const huge = () => prose(400_000);

  it("answers OpenAI clients 400 context_length_exceeded with the largest window that has tools, never a 5xx", async () => {
    const response = await chat({
      messages: [{ role: "user", content: huge() }],
      tools: TOOLS,
      max_tokens: 8000,
    });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({
      type: "invalid_request_error",
      param: "messages",
      code: "context_length_exceeded",
    });
    expect(error.message).toMatch(
      /^This model's maximum context length is 262144 tokens\. However, you requested about \d+ tokens \(\d+ of input, 8000 for the completion\)/,
    );
    // Hermes-4.3-36B's entry lists a 524,288-token window and no features: it was worth asking, and it has no
    // tool parser; every model known to have tools holds at most 262,144.
    expect(calledModels(stub)).toEqual(["NousResearch/Hermes-4.3-36B"]);
  });

  it("answers Claude Code 400 'prompt is too long', which makes it compact", async () => {
    const response = await claudeCode(CLAUDE_CODE.bashToolResult(), (body) => {
      (body.messages as unknown[]).push({ role: "user", content: huge() });
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(/^prompt is too long: \d+ tokens > 262144 maximum$/);
  });

  it("names a capability no model in the list has", async () => {
    const list = `${QWEN_32B},${NEMO}`;
    const response = await chat({ model: list, messages: [{ role: "user", content: [SCREENSHOT] }] });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({ param: "messages", code: "model_capability_unavailable" });
    expect(error.message).toBe(`No model behind ${list} supports image input`);
  });

  it("answers with the engine's count when every model refused", async () => {
    served.set(QWEN_32B, { windowTokens: 1_000, tools: true, images: false });
    served.set(NEMO, { windowTokens: 1_000, tools: true, images: false });
    const response = await chat({
      model: `${QWEN_32B},${NEMO}`,
      messages: [{ role: "user", content: prose(2_000) }],
      max_tokens: 100,
    });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("context_length_exceeded");
    expect(error.message).toMatch(/maximum context length is 1000 tokens/);
  });
});

describe("direct mode", () => {
  it("sends a request the estimate says does not fit, asking no more than the model's max output", async () => {
    const response = await chat({
      model: DEEPSEEK_TEE,
      messages: [{ role: "user", content: prose(140_000) }],
      max_tokens: 128_000,
    });
    expect(calledModels(stub)).toEqual([DEEPSEEK_TEE]);
    expect(upstreamBodies()[0]?.max_tokens).toBe(65_536);
    // The engine decides: this prompt plus 65,536 does not fit its 163,840 tokens, and it says so.
    expect(response.status).toBe(400);
    await response.text();
  });
});

describe("what clients and operators see of the models' capabilities", () => {
  it("lists each alias's largest window, output and features, and each model's window", async () => {
    const response = await callRouter("/v1/models");
    const { data } = (await response.json()) as { data: Array<Record<string, unknown>> };
    expect(data[0]).toMatchObject({
      id: ALIAS,
      context_length: 524_288,
      max_output_length: 262_144,
      input_modalities: ["text", "image"],
      supported_features: ["tools", "json_mode", "structured_outputs", "reasoning"],
      context_length_with: { tools: 262_144, images: 262_144, structured_outputs: 262_144 },
    });
    expect(data[1]).toMatchObject({ id: "chutesai/AutoPilot-TEE", context_length: 262_144 });
    expect(data.find((model) => model.id === "unsloth/gemma-3-4b-it")).toMatchObject({
      context_length: 96_000,
      max_model_len: 1_048_576,
      context_window: 96_000,
    });
  });

  it("gives the same facts in Anthropic's list format, the alias's window being the largest with tools", async () => {
    const response = await callRouter("/v1/models", { headers: { "anthropic-version": "2023-06-01" } });
    const { data } = (await response.json()) as { data: Array<Record<string, unknown>> };
    expect(data[0]).toMatchObject({
      type: "model",
      id: ALIAS,
      max_input_tokens: 262_144,
      max_tokens: 262_144,
      capabilities: {
        image_input: { supported: true },
        structured_outputs: { supported: true },
        thinking: { supported: true },
      },
    });
    expect(data.find((model) => model.id === QWEN_32B)).toMatchObject({
      max_input_tokens: 40_960,
      max_tokens: 40_960,
      capabilities: {
        image_input: { supported: false },
        structured_outputs: { supported: true },
        thinking: { supported: true },
      },
    });
  });

  it("shows each candidate's window and capabilities on /status, and a window learned from a refusal", async () => {
    served.set(QWEN_32B, { windowTokens: 16_384, tools: true, images: false });
    await (await chat({ messages: [{ role: "user", content: prose(20_000) }], max_tokens: 500 })).text();
    await settle();
    const response = await callRouter("/status", { headers: { accept: "application/json" } });
    const status = (await response.json()) as {
      candidates: Array<Record<string, unknown>>;
      aliases: Array<Record<string, unknown>>;
    };
    expect(status.candidates.find((candidate) => candidate.name === QWEN_32B)).toMatchObject({
      windowTokens: 16_384,
      learnedWindowTokens: 16_384,
      maxOutputTokens: 40_960,
      serves: ["tools", "json_schema"],
    });
    expect(status.candidates.find((candidate) => candidate.name === MISTRAL_SMALL)).toMatchObject({
      windowTokens: 131_072,
      learnedWindowTokens: null,
      serves: ["tools", "images", "json_schema"],
    });
    expect(status.aliases[0]).toMatchObject({ id: ALIAS, windowTokens: 524_288 });
  });
});
