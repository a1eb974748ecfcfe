// Which of a mode's models may serve one request, and what to ask each for (docs/contract.md §16): in alias and
// list modes the models that cannot are dropped, those the feed says too little about are marked to go after
// the known fits, and each keeps the output it can give; direct mode keeps its one model whatever the estimate
// says. When nothing is left, the answer says why: the prompt is too long for every window, or no model has
// what the request needs.
import type { Capability, ModelCapabilities } from "./capabilities.ts";
import type { Failure } from "./failure.ts";
import { directOutput, judgeFit, type Misfit, usefulOutputTokens } from "./fit.ts";
import type { RequestProfile } from "./request-profile.ts";

export interface FitPlan {
  /** The models that may serve the request, in the mode's order. */
  kept: string[];
  /** Kept models the feed says too little about: they go after the known fits. */
  unknown: Set<string>;
  /** The output to ask each model for, where it must be lower than the request's. */
  maxTokens: Record<string, number>;
  /** The models left out, and why. */
  misfits: Array<{ model: string; misfit: Misfit }>;
}

export type CapabilityLookup = (model: string) => ModelCapabilities | undefined;

/** Judges `models` for `profile`; `filter` false (direct mode) keeps every model and only lowers output. */
export function planFit(
  models: readonly string[],
  capabilitiesOf: CapabilityLookup,
  profile: RequestProfile,
  filter: boolean,
): FitPlan {
  const plan: FitPlan = { kept: [], unknown: new Set(), maxTokens: {}, misfits: [] };
  for (const model of models) {
    const capabilities = capabilitiesOf(model);
    if (!filter) {
      plan.kept.push(model);
      const lowered = directOutput(capabilities, profile);
      if (lowered !== null) plan.maxTokens[model] = lowered;
      continue;
    }
    const verdict = judgeFit(capabilities, profile);
    if (verdict.kind === "misfit") {
      plan.misfits.push({ model, misfit: verdict.misfit });
      continue;
    }
    plan.kept.push(model);
    if (verdict.kind === "unknown") plan.unknown.add(model);
    if (verdict.maxTokens !== null) plan.maxTokens[model] = verdict.maxTokens;
  }
  return plan;
}

/** What a client needs to hear when none of the mode's models fit (never a 5xx: the client must change). */
export function nothingFits(
  misfits: ReadonlyArray<{ model: string; misfit: Misfit }>,
  profile: RequestProfile,
  requestedModel: string,
): Failure {
  const windows = misfits.flatMap(({ misfit }) => (misfit.kind === "context" ? [misfit.windowTokens] : []));
  if (windows.length > 0) {
    return {
      kind: "context_length_exceeded",
      inputTokens: profile.inputTokens,
      outputTokens: profile.requestedOutputTokens ?? usefulOutputTokens(profile),
      windowTokens: Math.max(...windows),
    };
  }
  const lacking = new Set<Capability>();
  for (const { misfit } of misfits) if (misfit.kind === "capability") lacking.add(misfit.capability);
  const order: Capability[] = ["tools", "images", "json_schema", "json_object"];
  return {
    kind: "model_capability_unavailable",
    capabilities: order.filter((capability) => lacking.has(capability)),
    model: requestedModel,
  };
}
