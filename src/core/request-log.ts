// The one structured log line per request (SPEC §11). Built from routing facts only: never bodies, keys,
// token hashes or client IPs.
import type { FailoverReason } from "./failover-policy.ts";
import type { AttemptResult } from "./sticky-policy.ts";

export interface AttemptLog {
  model: string;
  outcome: AttemptResult;
  reason: FailoverReason | null;
  status: number | null;
  ms: number;
}

export interface RequestLog {
  event: "request";
  requestId: string;
  route: string;
  mode: "alias" | "list" | "direct" | null;
  candidates: number;
  attempts: AttemptLog[];
  selected: string | null;
  status: number;
  /** Time to the first body byte sent to the client, for committed answers. */
  ttfbMs: number | null;
  durationMs: number;
  /** How the response body ended, for committed streams. */
  streamEnd: string | null;
  snapshotAgeMs: number | null;
  errorCode: string | null;
}
