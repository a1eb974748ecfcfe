// Tries the candidates in order until one commits or the failover table says stop (docs/contract.md §7).
// Returns data: the committed stream's pieces, an upstream answer to pass on, or the router's own failure.
import type { FailoverReason } from "../core/failover-policy.ts";
import { type Failure, finalFailureFor } from "../core/failure.ts";
import type { AttemptRecord } from "../core/outcome.ts";
import { attemptUpstream, type CommittedAttempt } from "./attempt.ts";

export interface FailoverRequest {
  candidates: readonly string[];
  url: string;
  headers: Headers;
  /** The upstream request body for a candidate. */
  bodyFor: (model: string) => string;
  headerTimeoutMs: number;
  firstByteTimeoutMs: number;
  nowMs: () => number;
  /** Aborts when the client goes away (needs the `enable_request_signal` compatibility flag). */
  clientSignal?: AbortSignal;
}

export type FailoverResult =
  | {
      kind: "committed";
      model: string;
      commit: CommittedAttempt;
      attempts: AttemptRecord[];
    }
  | { kind: "upstream_answer"; model: string; response: Response; attempts: AttemptRecord[] }
  | { kind: "failure"; failure: Failure; attempts: AttemptRecord[] };

export async function runFailover(request: FailoverRequest): Promise<FailoverResult> {
  const attempts: AttemptRecord[] = [];
  let lastReason: FailoverReason = "upstream_connect_error";
  for (const [index, model] of request.candidates.entries()) {
    const startedMs = request.nowMs();
    const outcome = await attemptUpstream({
      url: request.url,
      headers: request.headers,
      body: request.bodyFor(model),
      headerTimeoutMs: request.headerTimeoutMs,
      firstByteTimeoutMs: request.firstByteTimeoutMs,
      isLastAttempt: index === request.candidates.length - 1,
      clientSignal: request.clientSignal,
    });
    const ms = request.nowMs() - startedMs;
    switch (outcome.kind) {
      case "cancelled": {
        attempts.push({ model, outcome: "cancelled", reason: null, status: null, ms });
        return { kind: "failure", failure: { kind: "client_cancel" }, attempts };
      }
      case "committed":
        attempts.push({ model, outcome: "committed", reason: null, status: outcome.response.status, ms });
        return { kind: "committed", model, commit: outcome, attempts };
      case "passthrough":
        attempts.push({ model, outcome: "passthrough", reason: null, status: outcome.response.status, ms });
        return { kind: "upstream_answer", model, response: outcome.response, attempts };
      case "retryable":
        attempts.push({
          model,
          outcome: "retryable",
          reason: outcome.reason,
          status: outcome.status,
          ms,
        });
        lastReason = outcome.reason;
        if (index === request.candidates.length - 1 && outcome.response) {
          return { kind: "upstream_answer", model, response: outcome.response, attempts };
        }
    }
  }
  const failure = finalFailureFor(lastReason) ?? { kind: "upstream_failed", reason: lastReason };
  return { kind: "failure", failure, attempts };
}
