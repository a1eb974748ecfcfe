// One upstream attempt as a record, and what one request reports about its attempts. The same record feeds
// the request's log line (docs/contract.md §11), the sticky policy (§5) and the outcome report batched per
// isolate to the control-plane object (breakers, counters). Plain data: it crosses Durable Object RPC as is.
import type { FailoverReason } from "./failover-policy.ts";

/** How one upstream attempt ended; `cancelled` means the client went away first (no one's failure). */
export type AttemptOutcome = "committed" | "retryable" | "passthrough" | "cancelled";

export interface AttemptRecord {
  model: string;
  outcome: AttemptOutcome;
  /** Set for retryable failures. */
  reason: FailoverReason | null;
  /** The upstream status, when there was one. */
  status: number | null;
  /** From the attempt's start to its verdict. */
  ms: number;
}

export interface OutcomeReport {
  /** The status the client received. */
  status: number;
  /** The model whose answer the client received, if any. */
  selected: string | null;
  attempts: AttemptRecord[];
}
