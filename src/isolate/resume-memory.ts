// What this isolate remembers about resuming broken streams (docs/contract.md §19): which models broke an
// answer lately (a model that breaks again is more likely broken as a whole than on one instance, so the
// continuation goes to another model first), and which models did not continue a prefilled answer (they
// restarted it) and are not asked to continue for a while.

/** A break within this long of the one before says the model, not an instance, is failing. */
export const RECENT_BREAK_MS = 60_000;
/** How long a model that restarted instead of continuing is not asked to continue. */
export const NOT_RESUMABLE_MS = 15 * 60_000;

export interface ResumeMemory {
  /** Notes that an answer broke on `model`; whether it had broken another answer within RECENT_BREAK_MS. */
  noteBreak(model: string, nowMs: number): boolean;
  /** `model` restarted an answer it was asked to continue. */
  markNotResumable(model: string, nowMs: number): void;
  /** Whether `model` may be asked to continue an answer. */
  resumable(model: string, nowMs: number): boolean;
}

export function createResumeMemory(): ResumeMemory {
  const lastBreak = new Map<string, number>();
  const notUntil = new Map<string, number>();
  return {
    noteBreak(model, nowMs) {
      const before = lastBreak.get(model);
      lastBreak.set(model, nowMs);
      return before !== undefined && nowMs - before <= RECENT_BREAK_MS;
    },
    markNotResumable(model, nowMs) {
      notUntil.set(model, nowMs + NOT_RESUMABLE_MS);
    },
    resumable(model, nowMs) {
      const until = notUntil.get(model);
      if (until === undefined) return true;
      if (until > nowMs) return false;
      notUntil.delete(model);
      return true;
    },
  };
}
