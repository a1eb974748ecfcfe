// What each model can serve, from the models feed (docs/contract.md §16), and what the fleet learned since
// from the engines' refusals. A field the feed leaves out is unknown (null): such a model may be tried, after
// the models known to fit. Plain data, carried in the routing view.
import type { ModelEntry } from "./feeds.ts";

/** A need a request may have that a model may lack. */
export type Capability = "tools" | "images" | "json_schema" | "json_object";

export interface ModelCapabilities {
  /** Prompt plus output, in tokens: the smaller of `context_length` and `max_model_len`. */
  windowTokens: number | null;
  /** `max_output_length`. */
  maxOutputTokens: number | null;
  /** `image` among `input_modalities`. */
  images: boolean | null;
  /** The most images one request may carry (learned from an engine's refusal; the feed does not say). */
  maxImages: number | null;
  /** `tools` among `supported_features`. */
  tools: boolean | null;
  /** `json_mode`. */
  jsonMode: boolean | null;
  /** `structured_outputs` (or `structured_output`, as some entries spell it). */
  structuredOutputs: boolean | null;
  /** `reasoning`. */
  reasoning: boolean | null;
}

export const UNKNOWN_CAPABILITIES: ModelCapabilities = {
  windowTokens: null,
  maxOutputTokens: null,
  images: null,
  maxImages: null,
  tools: null,
  jsonMode: null,
  structuredOutputs: null,
  reasoning: null,
};

/** A model's capabilities as its feed entry states them. */
export function capabilitiesOf(entry: ModelEntry): ModelCapabilities {
  const windows = [entry.context_length, entry.max_model_len].filter(isPositiveInteger);
  const modalities = stringList(entry.input_modalities);
  const features = stringList(entry.supported_features);
  const has = (...names: string[]) => (features === null ? null : names.some((name) => features.has(name)));
  return {
    windowTokens: windows.length > 0 ? Math.min(...windows) : null,
    maxOutputTokens: isPositiveInteger(entry.max_output_length) ? entry.max_output_length : null,
    images: modalities === null ? null : modalities.has("image"),
    maxImages: null,
    tools: has("tools"),
    jsonMode: has("json_mode"),
    structuredOutputs: has("structured_outputs", "structured_output"),
    reasoning: has("reasoning"),
  };
}

/** Every allowlisted model's capabilities, keyed by id. */
export function capabilitiesByModel(models: readonly ModelEntry[]): Record<string, ModelCapabilities> {
  const byModel: Record<string, ModelCapabilities> = {};
  for (const model of models) byModel[model.id] = capabilitiesOf(model);
  return byModel;
}

/**
 * What an engine's refusal taught about a model, kept for LEARNED_LIMIT_TTL_MS: a smaller window than the
 * feed states, a cap on images, capabilities it turned out not to have.
 */
export interface LearnedLimit {
  windowTokens: number | null;
  maxImages: number | null;
  lacks: Capability[];
  untilMs: number;
}

/** How long a learned limit holds before the feed's word counts again. */
export const LEARNED_LIMIT_TTL_MS = 15 * 60_000;

/** Two limits of one model as one: the smaller window and image cap, every lack, the later expiry. */
export function mergeLimits(a: LearnedLimit, b: LearnedLimit): LearnedLimit {
  return {
    windowTokens: smaller(a.windowTokens, b.windowTokens),
    maxImages: smaller(a.maxImages, b.maxImages),
    lacks: [...new Set([...a.lacks, ...b.lacks])],
    untilMs: Math.max(a.untilMs, b.untilMs),
  };
}

/** `limits` merged into `into` (which it changes), expired ones dropped. */
export function mergeLimitMaps(
  into: Record<string, LearnedLimit>,
  limits: Readonly<Record<string, LearnedLimit>>,
  nowMs: number,
): Record<string, LearnedLimit> {
  for (const [model, limit] of Object.entries(limits)) {
    const known = into[model];
    into[model] = known ? mergeLimits(known, limit) : { ...limit, lacks: [...limit.lacks] };
  }
  for (const [model, limit] of Object.entries(into)) if (limit.untilMs <= nowMs) delete into[model];
  return into;
}

/** The capabilities a model has once a learned limit (if it holds at `nowMs`) is applied. */
export function withLimit(
  capabilities: ModelCapabilities,
  limit: LearnedLimit | undefined,
  nowMs: number,
): ModelCapabilities {
  if (!limit || limit.untilMs <= nowMs) return capabilities;
  const lacks = new Set(limit.lacks);
  return {
    ...capabilities,
    windowTokens: smaller(capabilities.windowTokens, limit.windowTokens),
    maxImages: smaller(capabilities.maxImages, limit.maxImages),
    images: lacks.has("images") ? false : capabilities.images,
    tools: lacks.has("tools") ? false : capabilities.tools,
  };
}

/** What a group of models (an alias's candidates) offers at best: the largest window and output, every feature. */
export interface CapabilitySummary {
  windowTokens: number | null;
  maxOutputTokens: number | null;
  inputModalities: string[];
  features: string[];
  /** The largest window among the models that have each capability. */
  windowTokensWith: Partial<Record<"tools" | "images" | "structured_outputs", number>>;
}

export function summarizeCapabilities(all: readonly ModelCapabilities[]): CapabilitySummary {
  const largest = (pick: (caps: ModelCapabilities) => number | null, of = all) =>
    of.reduce<number | null>((best, caps) => larger(best, pick(caps)), null);
  const window = (caps: ModelCapabilities) => caps.windowTokens;
  const withWindow = (test: (caps: ModelCapabilities) => boolean | null) => largest(window, all.filter(test));
  const windowTokensWith: CapabilitySummary["windowTokensWith"] = {};
  const tools = withWindow((caps) => caps.tools);
  const images = withWindow((caps) => caps.images);
  const structured = withWindow((caps) => caps.structuredOutputs);
  if (tools !== null) windowTokensWith.tools = tools;
  if (images !== null) windowTokensWith.images = images;
  if (structured !== null) windowTokensWith.structured_outputs = structured;
  const features = (
    [
      ["tools", (caps) => caps.tools],
      ["json_mode", (caps) => caps.jsonMode],
      ["structured_outputs", (caps) => caps.structuredOutputs],
      ["reasoning", (caps) => caps.reasoning],
    ] as const satisfies ReadonlyArray<readonly [string, (caps: ModelCapabilities) => boolean | null]>
  )
    .filter(([, test]) => all.some((caps) => test(caps) === true))
    .map(([name]) => name);
  return {
    windowTokens: largest(window),
    maxOutputTokens: largest((caps) => caps.maxOutputTokens),
    inputModalities: all.some((caps) => caps.images === true) ? ["text", "image"] : ["text"],
    features,
    windowTokensWith,
  };
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

function stringList(value: unknown): Set<string> | null {
  if (!Array.isArray(value)) return null;
  return new Set(value.filter((item): item is string => typeof item === "string"));
}

function smaller(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function larger(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
