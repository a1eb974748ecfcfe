// The ordered models one request will try: from the mode, with the client's sticky model first when it is one
// of them (docs/contract.md §5), open breakers behind every closed one (docs/contract.md §4), at most MAX_ATTEMPTS long.
import { type BreakerOptions, type BreakerState, breakerPhase } from "./breaker.ts";
import type { RoutingMode } from "./model-list.ts";
import type { Candidate } from "./ranking.ts";

export interface CandidatePlanInput {
  mode: RoutingMode;
  ranked: readonly Candidate[];
  breakers: Readonly<Record<string, BreakerState>>;
  breakerOptions: BreakerOptions;
  /** Half-open models this isolate is already probing: treated as open, so one probe at a time. */
  probing: ReadonlySet<string>;
  stickyModel: string | null;
  maxAttempts: number;
  nowMs: number;
}

/** Models in the order they will be tried. */
export function planCandidates(input: CandidatePlanInput): string[] {
  const models = modeModels(input.mode, input.ranked);
  const sticky = input.stickyModel;
  const withSticky =
    sticky !== null && models.includes(sticky) ? [sticky, ...models.filter((m) => m !== sticky)] : models;
  const isOpen = (model: string) => {
    const phase = breakerPhase(input.breakers[model], input.breakerOptions, input.nowMs);
    return phase === "open" || (phase === "half_open" && input.probing.has(model));
  };
  const closed = withSticky.filter((model) => !isOpen(model));
  const open = withSticky.filter(isOpen);
  return [...closed, ...open].slice(0, input.maxAttempts);
}

function modeModels(mode: RoutingMode, ranked: readonly Candidate[]): string[] {
  switch (mode.kind) {
    case "alias":
      return ranked.filter((c) => !mode.confidentialOnly || c.confidentialCompute).map((c) => c.name);
    case "list":
      return [...mode.models];
    case "direct":
      return [mode.model];
  }
}
