// How one request changes its client's sticky model (docs/contract.md §5), computed once the request is done so the
// shard gets a single write: set on a committed 2xx; on a retryable failure of the sticky model, move to the
// next candidate after it; forget a sticky model that is not among the candidates or that another model replaced.
import type { AttemptRecord } from "./outcome.ts";

export type StickyUpdate = { kind: "set"; model: string } | { kind: "forget" } | { kind: "none" };

export interface StickyPolicyInput {
  stickyModel: string | null;
  candidates: readonly string[];
  attempts: ReadonlyArray<Pick<AttemptRecord, "model" | "outcome">>;
}

export function stickyUpdateAfter(input: StickyPolicyInput): StickyUpdate {
  let current =
    input.stickyModel !== null && input.candidates.includes(input.stickyModel) ? input.stickyModel : null;
  for (const attempt of input.attempts) {
    if (attempt.outcome === "committed") current = attempt.model;
    if (attempt.outcome === "retryable") {
      current =
        current === attempt.model
          ? (input.candidates[input.candidates.indexOf(attempt.model) + 1] ?? null)
          : null;
    }
  }
  if (current === input.stickyModel) return { kind: "none" };
  return current === null ? { kind: "forget" } : { kind: "set", model: current };
}
