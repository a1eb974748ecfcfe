// The fake's engines: what they refuse, in which wording and shape, and the `real` catalogue that serves the
// captured Chutes feeds with each model's stated limits.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { countPrompt, type EngineLimits, refuseIfUnfit } from "./engine-limits.ts";
import { type FakeChutes, startFakeChutes } from "./server.ts";
import { postCompletion, postJson } from "./test-helpers.ts";

const TEXT_40K: EngineLimits = { windowTokens: 40_960, tools: true, images: false };
const ask = (chars: number, extra: Record<string, unknown> = {}) => ({
  messages: [{ role: "user", content: "x".repeat(chars) }],
  ...extra,
});
const IMAGE = { type: "image_url", image_url: { url: `data:image/png;base64,${"A".repeat(100_000)}` } };

describe("refuseIfUnfit", () => {
  it("serves what fits, counting four characters of text a token and not an image's base64", () => {
    assert.equal(refuseIfUnfit("m", ask(100_000, { max_tokens: 10_000 }), TEXT_40K), null);
    assert.deepEqual(countPrompt({ messages: [{ role: "user", content: [IMAGE] }] }), {
      prompt: 1_008,
      images: 1,
    });
  });

  it("refuses a prompt beyond the window in vLLM's wording and shape", () => {
    const refusal = refuseIfUnfit("m", ask(200_000), TEXT_40K);
    assert.equal(refusal?.kind, "status");
    const body = JSON.parse(refusal?.body ?? "{}");
    assert.match(
      body.error.message,
      /^This model's maximum context length is 40960 tokens\. However, your request has 50005 input tokens/,
    );
  });

  it("refuses a prompt plus max_tokens beyond the window, in SGLang's wording wrapped by Chutes", () => {
    const refusal = refuseIfUnfit("m", ask(100_000, { max_tokens: 20_000 }), {
      ...TEXT_40K,
      engine: "sglang",
    });
    const detail = JSON.parse(JSON.parse(refusal?.body ?? "{}").detail);
    assert.match(
      detail.message,
      /You requested a total of 45005 tokens: 25005 tokens from the input messages and 20000 tokens for the completion/,
    );
  });

  it("refuses inside a 200 stream like older SGLang", () => {
    const refusal = refuseIfUnfit("m", ask(200_000), { ...TEXT_40K, engine: "sglang-stream" });
    assert.equal(refusal?.kind, "stream");
    assert.match(refusal?.body ?? "", /^data: \{"error":\{"message":"The input \(50005 tokens\)/);
  });

  it("refuses images to a text-only model, too many images, and tools without a parser", () => {
    const image = { messages: [{ role: "user", content: [IMAGE, IMAGE] }] };
    assert.match(
      refuseIfUnfit("acme/text", image, TEXT_40K)?.body ?? "",
      /acme\/text is not a multimodal model/,
    );
    assert.match(
      refuseIfUnfit("m", image, { ...TEXT_40K, images: true, maxImages: 1 })?.body ?? "",
      /At most 1 image\(s\)/,
    );
    const tools = ask(10, { tools: [{ type: "function", function: { name: "f" } }] });
    assert.match(
      refuseIfUnfit("m", tools, { ...TEXT_40K, tools: false })?.body ?? "",
      /--enable-auto-tool-choice/,
    );
    assert.equal(refuseIfUnfit("m", { ...tools, tool_choice: "none" }, { ...TEXT_40K, tools: false }), null);
  });
});

describe("the real catalogue", () => {
  let fake: FakeChutes;
  before(async () => {
    fake = await startFakeChutes({ catalogue: "real" });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  it("serves the captured feeds", async () => {
    const models = (await (await fetch(`${fake.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    assert.equal(models.data.length, 61);
    const rows = (await (await fetch(`${fake.url}/chutes/utilization`)).json()) as unknown[];
    assert.equal(rows.length, 538);
  });

  it("refuses what a model's entry says it cannot serve, and serves the rest", async () => {
    const image = { model: "Qwen/Qwen3-32B", messages: [{ role: "user", content: [IMAGE] }] };
    const refused = await postCompletion(fake.url, image);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /is not a multimodal model/);
    const served = await postCompletion(fake.url, {
      ...image,
      model: "chutesai/Mistral-Small-3.1-24B-Instruct-2503",
    });
    assert.equal(served.status, 200);
    await served.text();
    assert.deepEqual(
      fake.requests().map((entry) => entry.behavior),
      ["refused", "healthy"],
    );
  });

  it("serves a smaller window than the entry states once told to, and anything once enforcement is off", async () => {
    await postJson(`${fake.url}/__admin/limits`, {
      model: "Qwen/Qwen3-32B",
      limits: { windowTokens: 16_384, tools: true, images: false },
    });
    const request = { model: "Qwen/Qwen3-32B", ...ask(80_000) };
    assert.equal((await postCompletion(fake.url, request)).status, 400);
    await postJson(`${fake.url}/__admin/enforce`, { on: false });
    const served = await postCompletion(fake.url, request);
    assert.equal(served.status, 200);
    await served.text();
  });
});
