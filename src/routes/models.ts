// GET /v1/models (docs/contract.md §2, §14, §16): the two aliases first, each with what its candidates offer
// at best (the largest window and output, the union of their features), then every allowlisted model with its
// upstream metadata and the window the router routes it by. A request with an `anthropic-version` header
// (the Anthropic SDKs, Claude Code's model discovery) gets the same models in Anthropic's list format.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { AppEnv } from "../app-env.ts";
import { modeModels } from "../core/candidates.ts";
import { type CapabilitySummary, summarizeCapabilities } from "../core/capabilities.ts";
import type { RoutingView } from "../core/snapshot.ts";
import { isolateState } from "../isolate/isolate-state.ts";
import { capabilityLookup } from "../routing/plan.ts";
import { requireConfig } from "./config-guard.ts";

export const modelsRoutes = new Hono<AppEnv>();

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
      .map(({ id, confidentialOnly }) => ({
        id,
        object: "model",
        created: 0,
        owned_by: "autopilot",
        ...aliasCapabilities(view, confidentialOnly, capabilitiesOf),
      }));
    const aliasIds = new Set(aliases.map((alias) => alias.id));
    const listed = models
      .filter((model) => !aliasIds.has(model.id))
      .map((model) => ({ ...model, context_window: capabilitiesOf(model.id)?.windowTokens ?? null }));
    const data: Array<Record<string, unknown> & { id: string }> = [...aliases, ...listed];
    if (c.req.header("anthropic-version") === undefined) return c.json({ object: "list", data });
    const anthropic = data.map((model) => ({
      type: "model",
      id: model.id,
      display_name: model.id,
      created_at: new Date((typeof model.created === "number" ? model.created : 0) * 1000).toISOString(),
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

/** An alias's metadata in the upstream entries' own field names, from the best its candidates offer. */
function aliasCapabilities(
  view: RoutingView,
  confidentialOnly: boolean,
  capabilitiesOf: ReturnType<typeof capabilityLookup>,
) {
  const candidates = modeModels({ kind: "alias", confidentialOnly }, view.candidates);
  const summary: CapabilitySummary = summarizeCapabilities(
    candidates.flatMap((model) => capabilitiesOf(model) ?? []),
  );
  return {
    context_length: summary.windowTokens,
    max_output_length: summary.maxOutputTokens,
    input_modalities: summary.inputModalities,
    supported_features: summary.features,
    /** The largest window among the candidates that have each capability (tools for Claude Code). */
    context_length_with: summary.windowTokensWith,
  };
}
