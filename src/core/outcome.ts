// One upstream attempt as a record, and what one request reports about its attempts. The same record feeds
// the request's log line (docs/contract.md §11), the sticky policy (§5) and the outcome report batched per
// isolate to the control-plane object (breakers, counters, observed latency). Plain data: it crosses Durable
// Object RPC as is.
import type { Capability } from "./capabilities.ts";
import type { RefusalReason } from "./engine-refusal.ts";
import type { FailoverReason } from "./failover-policy.ts";
import type { StreamTally } from "./usage-meter.ts";

/**
 * How one upstream attempt ended before anything was committed. `cancelled`: the client went away first;
 * `hedge_lost`: another attempt of the same request committed first (docs/contract.md §13); `refused`: the
 * engine said the request does not fit the model (§16). None of these is the model's failure.
 */
export type AttemptOutcome =
  | "committed"
  | "retryable"
  | "passthrough"
  | "refused"
  | "cancelled"
  | "hedge_lost";

export interface AttemptRecord {
  model: string;
  outcome: AttemptOutcome;
  /** Set for retryable failures and refusals. */
  reason: FailoverReason | RefusalReason | null;
  /** The upstream status, when there was one. */
  status: number | null;
  /** From the attempt's start to its verdict: for a committed attempt, the model's time to first byte. */
  ms: number;
  /** Present on the extra attempt a hedge started (docs/contract.md §13). */
  hedge?: true;
  /** The output this attempt asked for, when it was lowered to fit the model (docs/contract.md §16). */
  maxTokens?: number;
  /** What the engine's refusal showed about the model, beyond what the models feed says (§16). */
  learned?: LimitFacts;
  /**
   * How this committed attempt's part of the answer ended, when the answer had more than one part (a part
   * that broke, continued by another attempt's). With one part, the report's `stream.end` says it.
   */
  streamEnd?: StreamEnd;
}

/** A model's limits as one refusal showed them. */
export interface LimitFacts {
  windowTokens: number | null;
  maxImages: number | null;
  lacks: Capability[];
}

/** How a committed answer's body ended (docs/contract.md §7, §13). */
export type StreamEnd = "complete" | "upstream_error" | "idle_timeout" | "client_cancel";

/** One part of a committed answer: one committed attempt's body, how it ended and what the relay saw of it. */
export interface PartEnd {
  end: StreamEnd;
  tally: StreamTally;
}

/** What the relay learned about a committed answer by the time its body ended. */
export interface StreamOutcome {
  end: StreamEnd;
  /** From the request's arrival to the first byte sent to the client. */
  ttfbMs: number;
  /** From the request's arrival to the body's end. */
  durationMs: number;
  /** An SSE stream, whose time to first byte reflects the model's speed (a JSON answer's reflects its length). */
  eventStream: boolean;
}

export interface OutcomeReport {
  /** The status the client received. */
  status: number;
  /** The model whose answer the client received, if any. */
  selected: string | null;
  attempts: AttemptRecord[];
  /** For a committed answer, how its body ended; reported when it ended. */
  stream: StreamOutcome | null;
  /** For a committed answer, what it used and cost (docs/contract.md §15). */
  usage: ReportedUsage | null;
  /** The request reached routing, so it has a record (docs/contract.md §17): counted in routed_total. */
  routed?: true;
  /** The rollout arm the request was routed in (docs/contract.md §18). */
  arm?: ArmRef;
  /** Each time the answer's stream broke mid-answer and what came of it (docs/contract.md §19). */
  resumes?: ResumeNote[];
}

/**
 * What came of a stream that broke mid-answer (docs/contract.md §19): `resumed`, a continuation was spliced in
 * (`model` is the one that continued); `restarted`, the continuation started the answer over and was not
 * spliced in (`model` restarted); `failed`, no continuation could start (`model` broke); `ineligible`, the
 * answer could not be continued (a tool call had gone out, it broke in its reasoning, the resumes were spent).
 */
export type ResumeResult = "resumed" | "restarted" | "failed" | "ineligible";

export interface ResumeNote {
  model: string;
  result: ResumeResult;
  /** For a continuation spliced in: the prompt tokens it re-read (the original prompt and the prefix), once known. */
  promptTokens?: number;
}

/** A request's place in a rollout: which rollout, which arm, and a short tag of its session. */
export interface ArmRef {
  rollout: string;
  arm: "baseline" | "candidate";
  session: string | null;
}

export interface ReportedUsage {
  promptTokens: number;
  completionTokens: number;
  usd: number;
  /** The upstream sent no usage; the counts are estimates from what the client received. */
  estimated: boolean;
}

/** How a committed attempt's part ended: its own end when the answer had several parts, else the answer's. */
export function committedEnd(
  attempt: Pick<AttemptRecord, "streamEnd">,
  stream: Pick<StreamOutcome, "end"> | null | undefined,
): StreamEnd {
  return attempt.streamEnd ?? stream?.end ?? "complete";
}

/** Whether a committed answer's end makes it its model's failure: only `complete` is a success. */
export function isFailedStream(end: StreamEnd): boolean {
  return end === "upstream_error" || end === "idle_timeout";
}
