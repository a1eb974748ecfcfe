// GET /v1/models (docs/contract.md §2, §14, §16): the two aliases first, each with what its candidates offer
// at best (the largest window and output, the union of their features), then every allowlisted model with its
// upstream metadata and the window the router routes it by. A request with an `anthropic-version` header
// (the Anthropic SDKs, Claude Code's model discovery) gets the same models in Anthropic's list format, with
// Anthropic's own names for the same facts (`max_input_tokens`, `max_tokens`, `capabilities`).
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { AppEnv } from "../app-env.ts";
import { modeModels } from "../core/candidates.ts";
import {
  type CapabilitySummary,
  type ModelCapabilities,
  summarizeCapabilities,
} from "../core/capabilities.ts";
import type { ModelEntry } from "../core/feeds.ts";
import type { RoutingView } from "../core/snapshot.ts";
import { isolateState } from "../isolate/isolate-state.ts";
import { capabilityLookup } from "../routing/plan.ts";
import { requireConfig } from "./config-guard.ts";

export const modelsRoutes = new Hono<AppEnv>();

/** One listed model: its OpenAI-list object, and the facts Anthropic's list gives under its own names. */
interface Listed {
  openai: Record<string, unknown> & { id: string };
  created: number;
  anthropic: {
    max_input_tokens: number | null;
    max_tokens: number | null;
    capabilities: Record<string, unknown>;
  };
}

modelsRoutes.get(
  "/models",
  describeRoute({
    tags: ["openai", "anthropic"],
    summary:
      "The aliases and every allowlisted model (Anthropic's list shape when `anthropic-version` is sent)",
    responses: { 200: { description: "An OpenAI (or Anthropic) model list." } },
  }),
  requireConfig,
  async (c) => {
    const config = c.get("config");
    const nowMs = Date.now();
    const isolate = isolateState(c.env);
    const [models, { view }] = await Promise.all([
      isolate.views.loadModels(nowMs),
      isolate.views.load(nowMs),
    ]);
    const capabilitiesOf = capabilityLookup(view, isolate.limits, nowMs);
    const aliases = [
      { id: config.modes.aliasModel, confidentialOnly: false },
      { id: config.modes.teeAliasModel, confidentialOnly: true },
    ]
      .filter((alias, index, all) => all.findIndex((other) => other.id === alias.id) === index)
      .map(({ id, confidentialOnly }) => listAlias(id, view, confidentialOnly, capabilitiesOf));
    const aliasIds = new Set(aliases.map((alias) => alias.openai.id));
    const listed = [
      ...aliases,
      ...models
        .filter((model) => !aliasIds.has(model.id))
        .map((model) => listModel(model, capabilitiesOf(model.id))),
    ];
    if (c.req.header("anthropic-version") === undefined)
      return c.json({ object: "list", data: listed.map((model) => model.openai) });
    const anthropic = listed.map((model) => ({
      type: "model",
      id: model.openai.id,
      display_name: model.openai.id,
      created_at: new Date(model.created * 1000).toISOString(),
      ...model.anthropic,
    }));
    c.header("request-id", c.get("requestId"));
    return c.json({
      data: anthropic,
      has_more: false,
      first_id: anthropic[0]?.id ?? null,
      last_id: anthropic.at(-1)?.id ?? null,
    });
  },
);

/** An alias, with the best its candidates offer in the upstream entries' own field names. */
function listAlias(
  id: string,
  view: RoutingView,
  confidentialOnly: boolean,
  capabilitiesOf: ReturnType<typeof capabilityLookup>,
): Listed {
  const candidates = modeModels({ kind: "alias", confidentialOnly }, view.candidates);
  const summary: CapabilitySummary = summarizeCapabilities(
    candidates.flatMap((model) => capabilitiesOf(model) ?? []),
  );
  return {
    openai: {
      id,
      object: "model",
      created: 0,
      owned_by: "autopilot",
      context_length: summary.windowTokens,
      max_output_length: summary.maxOutputTokens,
      input_modalities: summary.inputModalities,
      supported_features: summary.features,
      /** The largest window among the candidates that have each capability (tools for Claude Code). */
      context_length_with: summary.windowTokensWith,
    },
    created: 0,
    anthropic: {
      // Anthropic clients send tools: the window that matters to them is the largest with tools.
      max_input_tokens: summary.windowTokensWith.tools ?? summary.windowTokens,
      max_tokens: summary.maxOutputTokens,
      capabilities: anthropicCapabilities({
        images: summary.inputModalities.includes("image"),
        structuredOutputs: summary.features.includes("structured_outputs"),
        reasoning: summary.features.includes("reasoning"),
      }),
    },
  };
}

/** A feed model as the feed sent it, plus the window the router routes it by. */
function listModel(model: ModelEntry, capabilities: ModelCapabilities | undefined): Listed {
  return {
    openai: { ...model, context_window: capabilities?.windowTokens ?? null },
    created: typeof model.created === "number" ? model.created : 0,
    anthropic: {
      max_input_tokens: capabilities?.windowTokens ?? null,
      max_tokens: capabilities?.maxOutputTokens ?? null,
      capabilities: anthropicCapabilities(capabilities ?? {}),
    },
  };
}

/** Anthropic's `capabilities` object for what is known: image input, structured outputs, thinking. */
function anthropicCapabilities(
  known: Partial<Pick<ModelCapabilities, "images" | "structuredOutputs" | "reasoning">>,
): Record<string, { supported: boolean }> {
  const capabilities: Record<string, { supported: boolean }> = {};
  const add = (name: string, supported: boolean | null | undefined) => {
    if (supported !== null && supported !== undefined) capabilities[name] = { supported };
  };
  add("image_input", known.images);
  add("structured_outputs", known.structuredOutputs);
  add("thinking", known.reasoning);
  return capabilities;
}
