// What a protocol adapter hands the pipeline and what it gets back (docs/contract.md §3–§9). Protocol-neutral:
// the adapter parses its own body into a RoutingRequest and renders the RoutingResult in its own shape.
import type { BodyWriter } from "../core/body-rewrite.ts";
import { type Failure, failureStatus } from "../core/failure.ts";
import type { RoutingMode } from "../core/model-list.ts";
import type {
  ArmRef,
  AttemptRecord,
  PartEnd,
  ReportedUsage,
  ResumeNote,
  StreamOutcome,
} from "../core/outcome.ts";
import type { RequestProfile } from "../core/request-profile.ts";
import type { StickyHeaders } from "../core/sticky-key.ts";
import type { StreamSplice } from "../core/stream-splice.ts";
import type { AdmittedKey } from "../isolate/key-leases.ts";
import type { CommittedAttempt } from "../upstream/attempt.ts";
import type { Continuation, RelaySubscriber } from "../upstream/relay.ts";

export interface RoutingRequest {
  /** The model the client asked for, after any protocol-specific mapping: picks the mode. */
  model: string;
  /** The upstream path, `/v1/chat/completions` or `/v1/completions`. */
  upstreamPath: string;
  /**
   * The upstream request body for one candidate: the client's, with `model` set and, when `maxTokens` is not
   * null, its requested output lowered to that (docs/contract.md §16).
   */
  bodyFor: BodyWriter;
  /** What the request needs from a model: its size, the output it asks for, its capabilities (§16). */
  profile: RequestProfile;
  /** The client's headers; only those fit to forward reach the upstream (docs/contract.md §6). */
  clientHeaders: Headers;
  /** Where the client's sticky key comes from (docs/contract.md §5). */
  identity: StickyHeaders;
  /** Aborts when the client goes away before commit. */
  clientSignal?: AbortSignal;
  /** The managed key the client was admitted with (docs/contract.md §15). */
  key?: AdmittedKey | null;
  /** The W3C traceparent sent upstream: the router's span of the client's trace (docs/contract.md §17). */
  traceparent?: string;
}

export interface UsageEstimate {
  promptTokens: number;
  completionTokens: number;
}

/** What the log line, the response headers and the outcome report need to know about the routing. */
export interface RoutingTrace {
  mode: RoutingMode["kind"] | null;
  candidates: number;
  snapshotAgeMs: number | null;
  attempts: AttemptRecord[];
  /** A managed key's lease could not cover the request and the ledger was asked while it waited. */
  keyLedgerWaited?: boolean;
  /** The rollout arm the request was routed in (docs/contract.md §18). */
  rollout?: ArmRef;
  /** What the answer used and cost, once settled (docs/contract.md §15, §17). */
  usage?: ReportedUsage | null;
  /** Each break of the answer's stream and what came of it, as they happen (docs/contract.md §19). */
  resumes?: ResumeNote[];
}

export type RoutingResult =
  /** Refused before any upstream attempt (bad model, nothing to route to). */
  | { kind: "refused"; failure: Failure; trace: RoutingTrace }
  /** Every attempt failed and none left an upstream answer to pass on. */
  | { kind: "failed"; failure: Failure; trace: RoutingTrace }
  /** An upstream answer passed on as it is (a non-retryable status, or the last retryable one). */
  | { kind: "upstream_answer"; model: string; response: Response; trace: RoutingTrace }
  /**
   * A 2xx with its first body byte: the answer to relay, from `commit` on. The responder calls `finish`
   * exactly once, when the body ended, with every part of it (docs/contract.md §13), so the fleet learns how.
   * An answer can span attempts: each committed attempt in `trace.attempts` is one part, in order; whoever
   * gives the relay a `continueWith` records there the attempt each part it supplies comes from.
   */
  | {
      kind: "committed";
      model: string;
      commit: CommittedAttempt;
      trace: RoutingTrace;
      finish: (stream: StreamOutcome, parts: readonly PartEnd[]) => void;
      /** Where the answer continues when a part breaks; none: a break ends it (docs/contract.md §7). */
      continueWith?: Continuation;
      /** Who sees the answer's events as they pass. */
      subscribers?: readonly RelaySubscriber[];
      /** What every upstream event passes through, so that parts read as one answer (docs/contract.md §19). */
      splice?: StreamSplice;
    };

/** The status the client receives for a result. */
export function resultStatus(result: RoutingResult): number {
  switch (result.kind) {
    case "refused":
    case "failed":
      return failureStatus(result.failure);
    case "upstream_answer":
      return result.response.status;
    case "committed":
      return result.commit.response.status;
  }
}
