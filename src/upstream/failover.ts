// Tries the candidates in order until one commits or the failover table says stop (SPEC §7). Returns data:
// the committed stream's pieces, an upstream answer to pass on, or the router's own final error.
import { type FailoverReason, finalErrorFor } from "../core/failover-policy.ts";
import type { AttemptLog } from "../core/request-log.ts";
import { RouterError } from "../core/router-error.ts";
import { type AttemptOutcome, attemptUpstream } from "./attempt.ts";

export interface FailoverRequest {
  candidates: readonly string[];
  url: string;
  headers: Headers;
  /** The client's body with only `model` replaced, per candidate. */
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
      outcome: Extract<AttemptOutcome, { kind: "committed" }>;
      attempts: AttemptLog[];
    }
  | { kind: "upstream_answer"; model: string; response: Response; attempts: AttemptLog[] }
  | { kind: "router_error"; error: RouterError; attempts: AttemptLog[] };

export async function runFailover(request: FailoverRequest): Promise<FailoverResult> {
  const attempts: AttemptLog[] = [];
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
        const error = new RouterError(
          499,
          "invalid_request_error",
          "client_cancel",
          "The client closed the request",
        );
        return { kind: "router_error", error, attempts };
      }
      case "committed":
        attempts.push({ model, outcome: "committed", reason: null, status: outcome.response.status, ms });
        return { kind: "committed", model, outcome, attempts };
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
  const final = finalErrorFor(lastReason);
  const error = final
    ? new RouterError(final.status, "upstream_error", lastReason, final.message)
    : new RouterError(502, "upstream_error", lastReason, "No upstream model could answer");
  return { kind: "router_error", error, attempts };
}
