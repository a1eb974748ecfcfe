// What GET /v1/models lists (docs/contract.md §2, §14, §16), before either protocol shapes it: the two aliases
// first, each with what its candidates offer at best (the largest window and output, the union of their
// features), then every allowlisted model with its upstream metadata and the window the router routes it by.
// The OpenAI list (routes/openai.ts) and Anthropic's (protocols/anthropic/model-list.ts) render it.
import type { Config } from "../config.ts";
import { modeModels } from "../core/candidates.ts";
import {
  type CapabilitySummary,
  type ModelCapabilities,
  summarizeCapabilities,
} from "../core/capabilities.ts";
import type { ModelEntry } from "../core/feeds.ts";
import type { RoutingView } from "../core/snapshot.ts";
import type { IsolateState } from "../isolate/isolate-state.ts";
import { capabilityLookup } from "./plan.ts";

/** One listed model: its OpenAI-list object, and the facts Anthropic's list gives under its own names. */
export interface ListedModel {
  openai: Record<string, unknown> & { id: string };
  created: number;
  /** The largest window a request with tools gets (what an Anthropic client, which sends tools, can use). */
  windowTokens: number | null;
  maxOutputTokens: number | null;
  images: boolean | null;
  structuredOutputs: boolean | null;
  reasoning: boolean | null;
}

export async function listModels(
  isolate: IsolateState,
  config: Config,
  nowMs: number,
): Promise<ListedModel[]> {
  const [models, { view }] = await Promise.all([isolate.views.loadModels(nowMs), isolate.views.load(nowMs)]);
  const capabilitiesOf = capabilityLookup(view, isolate.limits, nowMs);
  const aliases = [
    { id: config.modes.aliasModel, confidentialOnly: false },
    { id: config.modes.teeAliasModel, confidentialOnly: true },
  ]
    .filter((alias, index, all) => all.findIndex((other) => other.id === alias.id) === index)
    .map(({ id, confidentialOnly }) => listAlias(id, view, confidentialOnly, capabilitiesOf));
  const aliasIds = new Set(aliases.map((alias) => alias.openai.id));
  return [
    ...aliases,
    ...models
      .filter((model) => !aliasIds.has(model.id))
      .map((model) => listModel(model, capabilitiesOf(model.id))),
  ];
}

/** An alias, with the best its candidates offer in the upstream entries' own field names. */
function listAlias(
  id: string,
  view: RoutingView,
  confidentialOnly: boolean,
  capabilitiesOf: ReturnType<typeof capabilityLookup>,
): ListedModel {
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
    windowTokens: summary.windowTokensWith.tools ?? summary.windowTokens,
    maxOutputTokens: summary.maxOutputTokens,
    images: summary.inputModalities.includes("image"),
    structuredOutputs: summary.features.includes("structured_outputs"),
    reasoning: summary.features.includes("reasoning"),
  };
}

/** A feed model as the feed sent it, plus the window the router routes it by. */
function listModel(model: ModelEntry, capabilities: ModelCapabilities | undefined): ListedModel {
  return {
    openai: { ...model, context_window: capabilities?.windowTokens ?? null },
    created: typeof model.created === "number" ? model.created : 0,
    windowTokens: capabilities?.windowTokens ?? null,
    maxOutputTokens: capabilities?.maxOutputTokens ?? null,
    images: capabilities?.images ?? null,
    structuredOutputs: capabilities?.structuredOutputs ?? null,
    reasoning: capabilities?.reasoning ?? null,
  };
}
