// What an engine's refusal (docs/contract.md §16) teaches: about the request, the prompt's real size in
// tokens; about the model, a window smaller than its feed entry states, a cap on images, or a capability it
// does not have after all. A refused JSON schema teaches nothing about the model: another schema may compile.
import type { ModelCapabilities } from "./capabilities.ts";
import type { EngineRefusal } from "./engine-refusal.ts";
import type { Misfit } from "./fit.ts";
import type { LimitFacts } from "./outcome.ts";
import type { RequestProfile } from "./request-profile.ts";

/**
 * What the refusal shows about the model beyond `capabilities`, or null. `sentOutput` is the output the
 * refused request asked for: vLLM 0.15 reported its window minus that as the window (vllm#33418), which is
 * not a smaller window but the same one misreported, and is not learned.
 */
export function limitShownBy(
  refusal: EngineRefusal,
  capabilities: ModelCapabilities | undefined,
  sentOutput: number | null,
): LimitFacts | null {
  const facts: LimitFacts = { windowTokens: null, maxImages: null, lacks: [] };
  switch (refusal.kind) {
    case "context_length": {
      const stated = capabilities?.windowTokens ?? null;
      const reported = refusal.windowTokens;
      if (reported === null || (stated !== null && reported >= stated)) return null;
      if (stated !== null && sentOutput !== null && reported + sentOutput === stated) return null;
      facts.windowTokens = reported;
      return facts;
    }
    case "images":
      if (refusal.maxImages !== null) facts.maxImages = refusal.maxImages;
      else facts.lacks.push("images");
      return facts;
    case "tools":
      facts.lacks.push("tools");
      return facts;
    case "schema":
      return null;
  }
}

/** The request's profile once the engine's own count of its prompt is known. */
export function profileAfter(refusal: EngineRefusal, profile: RequestProfile): RequestProfile {
  if (refusal.kind !== "context_length" || refusal.inputTokens === null) return profile;
  return { ...profile, inputTokens: refusal.inputTokens, inputCounted: true };
}

/** Why the refusing model does not fit, as the planner would have said had it known. */
export function misfitShownBy(
  refusal: EngineRefusal,
  capabilities: ModelCapabilities | undefined,
  profile: RequestProfile,
): Misfit {
  switch (refusal.kind) {
    case "context_length":
      return {
        kind: "context",
        windowTokens: refusal.windowTokens ?? capabilities?.windowTokens ?? profile.inputTokens,
      };
    case "tools":
      return { kind: "capability", capability: "tools" };
    case "images":
      return { kind: "capability", capability: "images" };
    case "schema":
      return {
        kind: "capability",
        capability: profile.needs.jsonObject && !profile.needs.jsonSchema ? "json_object" : "json_schema",
      };
  }
}
