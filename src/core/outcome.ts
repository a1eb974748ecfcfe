// What one request reports about its upstream attempts, batched per isolate to the control-plane object
// (breakers, counters). Plain data: it crosses Durable Object RPC as is.
import type { FailoverReason } from "./failover-policy.ts";
import type { AttemptResult } from "./sticky-policy.ts";

export interface AttemptReport {
  model: string;
  result: AttemptResult;
  /** Set for retryable failures. */
  reason: FailoverReason | null;
}

export interface OutcomeReport {
  /** The status the client received. */
  status: number;
  /** The model whose answer the client received, if any. */
  selected: string | null;
  attempts: AttemptReport[];
}
