// How one request changes its client's sticky model (docs/contract.md §5, §13), computed once the request is
// done (for a committed stream, when its body ended) so the shard gets a single write: set on a committed 2xx;
// on a retryable failure of the sticky model, or a committed body that then broke or stalled, move to the next
// candidate after it; forget a sticky model that is not among the candidates or that another model replaced.
import { type AttemptRecord, isFailedStream } from "./outcome.ts";

export type StickyUpdate = { kind: "set"; model: string } | { kind: "forget" } | { kind: "none" };

export interface StickyPolicyInput {
  stickyModel: string | null;
  candidates: readonly string[];
  attempts: ReadonlyArray<
    Pick<AttemptRecord, "model" | "outcome"> & Partial<Pick<AttemptRecord, "streamEnd">>
  >;
  /**
   * The committed answer's body broke or stalled (docs/contract.md §13): its model failed after all. An
   * attempt's own `streamEnd`, when the answer had several parts, says it for that attempt.
   */
  streamFailed?: boolean;
}

export function stickyUpdateAfter(input: StickyPolicyInput): StickyUpdate {
  let current =
    input.stickyModel !== null && input.candidates.includes(input.stickyModel) ? input.stickyModel : null;
  const nextAfter = (model: string) => input.candidates[input.candidates.indexOf(model) + 1] ?? null;
  for (const attempt of input.attempts) {
    if (attempt.outcome === "committed") {
      const failed = attempt.streamEnd ? isFailedStream(attempt.streamEnd) : input.streamFailed;
      current = failed ? nextAfter(attempt.model) : attempt.model;
    }
    if (attempt.outcome === "retryable")
      current = current === attempt.model ? nextAfter(attempt.model) : null;
  }
  if (current === input.stickyModel) return { kind: "none" };
  return current === null ? { kind: "forget" } : { kind: "set", model: current };
}
