// Whether a request fits a model (docs/contract.md §16), and what it should ask that model for: a capability
// the request needs and the model lacks, or a window that cannot hold the prompt plus a useful answer, rules
// the model out; output beyond what the model can give is lowered to what fits on that model; a model whose
// feed entry does not say is "unknown", tried after the models known to fit. Pure; the planner and the
// failover loop judge each candidate with it, and judge again once an engine reports the prompt's real size.
import type { Capability, ModelCapabilities } from "./capabilities.ts";
import type { RequestProfile } from "./request-profile.ts";

/**
 * The least output a model must have room for, when the client asked for more: enough for a real answer
 * (Claude Code's answers and tool calls fit in it), small enough that a long session still finds a model.
 */
export const USEFUL_OUTPUT_TOKENS = 4096;

export type Misfit =
  /** The prompt plus the least useful output does not fit the window. */
  | { kind: "context"; windowTokens: number }
  /** A capability the request needs that the model does not have. */
  | { kind: "capability"; capability: Capability };

export type FitVerdict =
  /** Known to fit; `maxTokens` is the output to ask for when it must be lowered, else null. */
  | { kind: "fits"; maxTokens: number | null }
  /** The feed does not say enough to know; tried after the known fits, with what lowering is known. */
  | { kind: "unknown"; maxTokens: number | null }
  | { kind: "misfit"; misfit: Misfit };

/** The output a request needs room for at the least: what it asked, up to USEFUL_OUTPUT_TOKENS. */
export function usefulOutputTokens(profile: RequestProfile): number {
  return Math.min(profile.requestedOutputTokens ?? USEFUL_OUTPUT_TOKENS, USEFUL_OUTPUT_TOKENS);
}

/** How `profile` fits a model with `capabilities` (undefined: a model the feed does not list). */
export function judgeFit(capabilities: ModelCapabilities | undefined, profile: RequestProfile): FitVerdict {
  if (!capabilities) return { kind: "unknown", maxTokens: null };
  let unknown = false;
  for (const [capability, has] of needed(capabilities, profile)) {
    if (has === false) return { kind: "misfit", misfit: { kind: "capability", capability } };
    if (has === null) unknown = true;
  }
  const window = capabilities.windowTokens;
  // Engines refuse prompt + output ≥ window (SGLang checks `>=`), so the room is one token short of it.
  const room = window === null ? null : window - profile.inputTokens - 1;
  if (window !== null && room !== null && room < usefulOutputTokens(profile))
    return { kind: "misfit", misfit: { kind: "context", windowTokens: window } };
  const maxTokens = lowerOutput(profile.requestedOutputTokens, [capabilities.maxOutputTokens, room]);
  if (window === null) unknown = true;
  return { kind: unknown ? "unknown" : "fits", maxTokens };
}

/**
 * The output to ask a model for in direct mode, where the request goes whatever the estimate says: lowered
 * to the model's max output and, when the estimate leaves room, to the room; never refused.
 */
export function directOutput(
  capabilities: ModelCapabilities | undefined,
  profile: RequestProfile,
): number | null {
  if (!capabilities) return null;
  const window = capabilities.windowTokens;
  const room = window === null ? null : window - profile.inputTokens - 1;
  const usable = room !== null && room >= usefulOutputTokens(profile) ? room : null;
  return lowerOutput(profile.requestedOutputTokens, [capabilities.maxOutputTokens, usable]);
}

/** The needs a request has, each with whether the model has it (null: unknown). */
function needed(
  capabilities: ModelCapabilities,
  profile: RequestProfile,
): Array<[Capability, boolean | null]> {
  const { needs } = profile;
  const out: Array<[Capability, boolean | null]> = [];
  if (needs.tools) out.push(["tools", capabilities.tools]);
  if (needs.images > 0) {
    const tooMany = capabilities.maxImages !== null && needs.images > capabilities.maxImages;
    out.push(["images", tooMany ? false : capabilities.images]);
  }
  if (needs.jsonSchema) out.push(["json_schema", capabilities.structuredOutputs]);
  if (needs.jsonObject)
    out.push(["json_object", anyOf(capabilities.jsonMode, capabilities.structuredOutputs)]);
  return out;
}

/** The requested output lowered to the smallest known limit, or null when it is already within them all. */
function lowerOutput(requested: number | null, limits: ReadonlyArray<number | null>): number | null {
  if (requested === null) return null;
  const known = limits.filter((limit): limit is number => limit !== null);
  if (known.length === 0) return null;
  const limit = Math.min(...known);
  return requested > limit ? Math.max(1, limit) : null;
}

function anyOf(a: boolean | null, b: boolean | null): boolean | null {
  if (a === true || b === true) return true;
  if (a === null || b === null) return null;
  return false;
}
