import { describe, expect, it } from "vitest";
import models from "../../fixtures/chutes-models-2026-02-18.json";
import utilization from "../../fixtures/chutes-utilization-2026-02-18.json";
import { modeModels, planCandidates } from "./candidates.ts";
import { capabilitiesByModel } from "./capabilities.ts";
import { parseModelsFeed, parseUtilizationFeed } from "./feeds.ts";
import { nothingFits, planFit } from "./fit-plan.ts";
import type { RoutingMode } from "./model-list.ts";
import type { RequestProfile } from "./request-profile.ts";
import { rankSnapshot } from "./snapshot.ts";

// The real Chutes feeds of 2026-02-18: Qwen/Qwen3-32B (40,960 tokens, text, tools) ranks first, then
// Mistral-Small-3.1 (131,072, image, tools), DeepSeek-V3-0324-TEE (163,840, tools), gpt-oss-120b-TEE
// (131,072), Kimi-K2.5-TEE (262,144, image, tools), GLM-5-TEE (202,752), Mistral-Nemo (131,072, no tools), …
const modelsFeed = parseModelsFeed(models);
const utilizationFeed = parseUtilizationFeed(utilization);
if (!modelsFeed.ok || !utilizationFeed.ok) throw new Error("the captures do not parse");
const RANKED = rankSnapshot(utilizationFeed.rows, modelsFeed.rows);
const CAPABILITIES = capabilitiesByModel(modelsFeed.rows);
const ALIAS: RoutingMode = { kind: "alias", confidentialOnly: false };
const TEE: RoutingMode = { kind: "alias", confidentialOnly: true };

function profile(
  inputTokens: number,
  requested: number | null,
  needs: Partial<RequestProfile["needs"]> = {},
) {
  return {
    inputTokens,
    inputCounted: false,
    requestedOutputTokens: requested,
    needs: { tools: false, images: 0, jsonSchema: false, jsonObject: false, ...needs },
  };
}

/** The candidates the router would try, in order, and the output each is asked for. */
function plan(mode: RoutingMode, request: RequestProfile) {
  const fit = planFit(
    modeModels(mode, RANKED),
    (model) => CAPABILITIES[model],
    request,
    mode.kind !== "direct",
  );
  const candidates = planCandidates({
    models: fit.kept,
    unknownFit: fit.unknown,
    breakers: {},
    breakerOptions: { failureThreshold: 3, cooldownMs: 30_000 },
    health: {},
    slowOptions: { factor: 4, minMs: 2000, recheckAfterMs: 30_000 },
    probing: new Set(),
    stickyModel: null,
    maxAttempts: 100,
    nowMs: 0,
  });
  return { candidates, maxTokens: fit.maxTokens, fit };
}

describe("where each request lands on the real feed", () => {
  it.each([
    ["a short chat", profile(200, 512), "Qwen/Qwen3-32B", undefined],
    ["a short chat with tools", profile(2_000, 1_024, { tools: true }), "Qwen/Qwen3-32B", undefined],
    ["a JSON-schema answer", profile(500, 256, { jsonSchema: true }), "Qwen/Qwen3-32B", undefined],
    [
      "Claude Code's first request (~20k tokens, tools, max_tokens 128000)",
      profile(20_000, 128_000, { tools: true }),
      "Qwen/Qwen3-32B",
      20_959,
    ],
    ["a 60k-token prompt", profile(60_000, 1_000), "chutesai/Mistral-Small-3.1-24B-Instruct-2503", undefined],
    [
      "a screenshot",
      profile(3_000, 1_000, { images: 1 }),
      "chutesai/Mistral-Small-3.1-24B-Instruct-2503",
      undefined,
    ],
    [
      "a 70k-token tool session asking 128000",
      profile(70_000, 128_000, { tools: true }),
      "chutesai/Mistral-Small-3.1-24B-Instruct-2503",
      61_071,
    ],
    [
      "a 150k-token tool session",
      profile(150_000, 32_000, { tools: true }),
      "deepseek-ai/DeepSeek-V3-0324-TEE",
      13_839,
    ],
    [
      "a 200k-token session with a screenshot",
      profile(200_000, 32_000, { images: 1, tools: true }),
      "moonshotai/Kimi-K2.5-TEE",
      undefined,
    ],
  ])("sends %s to the best model that fits it", (_, request, expected, maxTokens) => {
    const { candidates, maxTokens: lowered } = plan(ALIAS, request);
    expect(candidates[0]).toBe(expected);
    expect(lowered[expected]).toBe(maxTokens);
  });

  it("keeps the ranking's order among the models that fit", () => {
    const all = RANKED.map((candidate) => candidate.name);
    const { candidates, fit } = plan(ALIAS, profile(60_000, 1_000, { tools: true }));
    const known = candidates.filter((model) => !fit.unknown.has(model));
    const positions = known.map((model) => all.indexOf(model));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(candidates).not.toContain("Qwen/Qwen3-32B");
    expect(candidates).not.toContain("unsloth/Mistral-Nemo-Instruct-2407");
  });

  it("tries models whose feed entries say nothing only after those known to fit", () => {
    // Three entries list only a max_model_len (262,144 or 524,288 tokens): they may or may not take tools.
    const unknown = [
      "XiaomiMiMo/MiMo-V2-Flash",
      "NousResearch/Hermes-4.3-36B",
      "miromind-ai/MiroThinker-v1.5-235B",
    ];
    const { candidates, fit } = plan(ALIAS, profile(250_000, 4_000, { tools: true }));
    expect([...fit.unknown].sort()).toEqual([...unknown].sort());
    expect(candidates.slice(-3).sort()).toEqual([...unknown].sort());
    expect(candidates.length).toBeGreaterThan(3);
    expect(plan(ALIAS, profile(300_000, 4_000, { tools: true })).candidates).toEqual([
      "NousResearch/Hermes-4.3-36B",
    ]);
  });

  it("keeps the TEE alias among confidential models", () => {
    expect(plan(TEE, profile(3_000, 1_000, { images: 1 })).candidates[0]).toBe("moonshotai/Kimi-K2.5-TEE");
  });

  it("keeps the client's order in list mode, leaving out the models that cannot serve the request", () => {
    const list: RoutingMode = {
      kind: "list",
      models: ["Qwen/Qwen3-32B", "unsloth/Mistral-Nemo-Instruct-2407", "zai-org/GLM-5-TEE"],
    };
    expect(plan(list, profile(50_000, 1_000, { tools: true })).candidates).toEqual(["zai-org/GLM-5-TEE"]);
  });

  it("never leaves out direct mode's one model, and only lowers its output", () => {
    const direct: RoutingMode = { kind: "direct", model: "Qwen/Qwen3-32B" };
    const { candidates, maxTokens } = plan(direct, profile(60_000, 128_000, { images: 2 }));
    expect(candidates).toEqual(["Qwen/Qwen3-32B"]);
    expect(maxTokens["Qwen/Qwen3-32B"]).toBe(40_960);
  });
});

describe("nothingFits", () => {
  it("says the prompt is too long for the largest window among the models with what it needs", () => {
    const request = profile(400_000, 8_000, { tools: true });
    const { fit } = plan(TEE, request);
    expect(fit.kept).toEqual([]);
    expect(nothingFits(fit.misfits, request, "chutesai/AutoPilot-TEE")).toEqual({
      kind: "context_length_exceeded",
      inputTokens: 400_000,
      outputTokens: 8_000,
      windowTokens: 262_144,
    });
  });

  it("names the capabilities no model has", () => {
    const list: RoutingMode = {
      kind: "list",
      models: ["Qwen/Qwen3-32B", "unsloth/Mistral-Nemo-Instruct-2407"],
    };
    const request = profile(1_000, 100, { images: 1 });
    const { fit } = plan(list, request);
    expect(nothingFits(fit.misfits, request, "Qwen/Qwen3-32B,unsloth/Mistral-Nemo-Instruct-2407")).toEqual({
      kind: "model_capability_unavailable",
      capabilities: ["images"],
      model: "Qwen/Qwen3-32B,unsloth/Mistral-Nemo-Instruct-2407",
    });
  });

  it("counts a useful answer as the output when the client asked for none", () => {
    const request = profile(900_000, null);
    const failure = nothingFits(
      [{ model: "m", misfit: { kind: "context", windowTokens: 1000 } }],
      request,
      "m",
    );
    expect(failure).toMatchObject({ outputTokens: 4096 });
  });
});
