// The smoke suite's second stack (docs/contract.md §16): the router under `wrangler dev` on the real Chutes
// feeds of 2026-02-18, every model played by the fake's engines, which refuse what their feed entry says
// they cannot serve. Each scenario checks what a user would notice: the request lands on a model that can
// serve it, with no refusal on the way; what cannot fit anywhere gets the 400 its client acts on; a model
// whose entry overstates its window is moved past and then avoided.
import OpenAI from "openai";
import type { FakeChutes } from "../fake-chutes/server.ts";
import { type CapturedRequest, CLAUDE_CODE, longToolSession } from "../test/support/claude-code.ts";
import { assert, assertEqual, eventually, type Scenario } from "./runner.ts";
import type { Stack } from "./stack.ts";

const ALIAS = "chutesai/AutoPilot";
const QWEN_32B = "Qwen/Qwen3-32B"; // 40,960 tokens, text, tools: ranked first
const MISTRAL_SMALL = "chutesai/Mistral-Small-3.1-24B-Instruct-2503"; // 131,072, images, tools
/** A 1920 × 1080 PNG's signature and header, as a data URL (the rest of an image is not needed to route it). */
const SCREENSHOT = `data:image/png;base64,${Buffer.from([
  ...[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52],
  ...[0, 0, 0x07, 0x80, 0, 0, 0x04, 0x38, 8, 2, 0, 0, 0],
  ...new Array(35).fill(0),
]).toString("base64")}`;

/** English prose of about `tokens` tokens to the fake's engines (four characters a token). */
function prose(tokens: number): string {
  return "The quick brown fox jumps over the lazy dog near the riverbank today. ".repeat(
    Math.ceil((tokens * 4) / 70),
  );
}

export function capabilityScenarios(stack: Stack): Scenario[] {
  const { fake } = stack;
  let clients = 0;
  /** A client of its own per call, so no sticky model from another scenario steers a request. */
  const openai = () =>
    new OpenAI({
      baseURL: `${stack.routerUrl}/v1`,
      apiKey: `cpk_caps_${++clients}`,
      maxRetries: 0,
      timeout: 30_000,
    });
  const claudeCode = (captured: CapturedRequest) =>
    fetch(`${stack.routerUrl}${captured.url}`, {
      method: "POST",
      headers: {
        ...captured.headers,
        "x-api-key": `cpk_caps_${++clients}`,
        "x-claude-code-session-id": crypto.randomUUID(),
      },
      body: JSON.stringify(captured.body),
    });

  /** Sends `request`, then checks it was answered by a model that fits, asked once, with nothing refused. */
  async function expectServedWithoutRefusal(what: string, send: () => Promise<string>, expected: string) {
    fake.clearRequests();
    const selected = await send();
    assertEqual(selected, expected, `${what}: the model that served it`);
    const seen = fake.requests().map((entry) => [entry.model, entry.behavior]);
    assertEqual(seen, [[expected, "healthy"]], `${what}: what the fake's engines saw`);
  }

  const chatSelected = async (body: OpenAI.ChatCompletionCreateParamsNonStreaming) => {
    const { response } = await openai().chat.completions.create(body).withResponse();
    return response.headers.get("x-chutes-autopilot-selected") ?? "";
  };
  const claudeCodeSelected = async (captured: CapturedRequest) => {
    const response = await claudeCode(captured);
    const text = await response.text();
    assertEqual(response.status, 200, `Claude Code answer status (${text.slice(0, 200)})`);
    assert(text.includes("event: message_stop"), "a whole Anthropic stream");
    return response.headers.get("x-chutes-autopilot-selected") ?? "";
  };

  return [
    {
      name: "real feed: a 60k-token prompt, an image and tools each land on a model that serves them, no refusal on the way",
      run: async () => {
        await expectServedWithoutRefusal(
          "60k-token prompt",
          () =>
            chatSelected({
              model: ALIAS,
              messages: [{ role: "user", content: prose(60_000) }],
              max_tokens: 500,
            }),
          MISTRAL_SMALL,
        );
        await expectServedWithoutRefusal(
          "image",
          () =>
            chatSelected({
              model: ALIAS,
              messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: SCREENSHOT } }] }],
            }),
          MISTRAL_SMALL,
        );
        const tools = [
          { type: "function" as const, function: { name: "Bash", parameters: { type: "object" } } },
        ];
        await expectServedWithoutRefusal(
          "tools",
          () => chatSelected({ model: ALIAS, messages: [{ role: "user", content: "ls" }], tools }),
          QWEN_32B,
        );
      },
    },
    {
      name: "real feed: Claude Code's first request, a 70k-token tool session and a 1.6 MB screenshot turn are served",
      run: async () => {
        await expectServedWithoutRefusal(
          "Claude Code's first request",
          () => claudeCodeSelected(CLAUDE_CODE.firstRequest()),
          QWEN_32B,
        );
        const sent = JSON.parse(fake.requests()[0]?.body ?? "{}") as { max_tokens?: number };
        assert(
          (sent.max_tokens ?? 0) < 40_960,
          `max_tokens lowered to fit the model, got ${sent.max_tokens}`,
        );
        await expectServedWithoutRefusal(
          "70k-token tool session",
          () => claudeCodeSelected(longToolSession(250_000)),
          MISTRAL_SMALL,
        );
        const screenshot = CLAUDE_CODE.screenshotToolResult(1_600_000);
        assert(JSON.stringify(screenshot.body).length > 1_600_000, "the request is over 1.6 MB");
        await expectServedWithoutRefusal(
          "1.6 MB screenshot turn",
          () => claudeCodeSelected(screenshot),
          MISTRAL_SMALL,
        );
      },
    },
    {
      name: "real feed: nothing fits → 400 context_length_exceeded (openai SDK) and 'prompt is too long' (Claude Code)",
      run: async () => {
        const huge = prose(600_000);
        const error = await openai()
          .chat.completions.create({ model: ALIAS, messages: [{ role: "user", content: huge }] })
          .catch((caught: unknown) => caught);
        assert(error instanceof OpenAI.BadRequestError, `a BadRequestError, got ${String(error)}`);
        assertEqual((error as InstanceType<typeof OpenAI.APIError>).code, "context_length_exceeded", "code");
        const captured = CLAUDE_CODE.bashToolResult();
        captured.body.messages.push({ role: "user", content: huge });
        const response = await claudeCode(captured);
        assertEqual(response.status, 400, "Claude Code status");
        const body = (await response.json()) as { error: { type: string; message: string } };
        assertEqual(body.error.type, "invalid_request_error", "Anthropic error type");
        assert(/^prompt is too long: \d+ tokens > \d+ maximum$/.test(body.error.message), body.error.message);
      },
    },
    {
      name: "real feed: a model whose entry overstates its window refuses once, the request moves on, the next avoids it",
      run: async () => {
        fake.setLimits(QWEN_32B, { windowTokens: 16_384, tools: true, images: false });
        const ask = {
          model: ALIAS,
          messages: [{ role: "user" as const, content: prose(20_000) }],
          max_tokens: 500,
        };
        fake.clearRequests();
        assertEqual(await chatSelected(ask), MISTRAL_SMALL, "first request's model");
        assertEqual(
          fake.requests().map((entry) => [entry.model, entry.behavior]),
          [
            [QWEN_32B, "refused"],
            [MISTRAL_SMALL, "healthy"],
          ],
          "the refusal, then the model that served it",
        );
        fake.clearRequests();
        assertEqual(await chatSelected(ask), MISTRAL_SMALL, "next request's model");
        assertEqual(
          fake.requests().map((entry) => entry.model),
          [MISTRAL_SMALL],
          "the next request skips the model",
        );
        await eventually("the fleet's view to learn the window", async () => {
          const status = (await (
            await fetch(`${stack.routerUrl}/status`, { headers: { accept: "application/json" } })
          ).json()) as {
            candidates: Array<{ name: string; learnedWindowTokens: number | null; breaker: string }>;
          };
          const qwen = status.candidates.find((candidate) => candidate.name === QWEN_32B);
          return qwen?.learnedWindowTokens === 16_384 && qwen.breaker === "closed";
        });
      },
    },
  ];
}

/** Between the real-feed scenarios: engines back to their entries' limits, the log cleared. */
export function resetRealFeed(fake: FakeChutes): Promise<void> {
  fake.reset();
  return Promise.resolve();
}
