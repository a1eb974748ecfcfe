// The router's own failures as data (docs/contract.md §8): every answer the router gives itself, rather than
// passing on an upstream's, is one of these. Status, headers, code and message are the same in every protocol
// and decided here; each protocol renders the body in its own shape with one exhaustive switch
// (protocols/openai/errors.ts), so a new kind does not compile until every protocol maps it.
import type { BudgetPeriod } from "./budget-period.ts";
import type { Capability } from "./capabilities.ts";
import type { FailoverReason } from "./failover-policy.ts";
import type { RateState } from "./key-ledger.ts";
import type { NotReadyCode } from "./readiness.ts";

export type Failure =
  | { kind: "invalid_config"; message: string }
  /** `challenge: "basic"` asks a browser for the key (the operator pages). */
  | { kind: "invalid_api_key"; challenge: "none" | "basic" }
  | { kind: "request_too_large"; maxBytes: number }
  | { kind: "invalid_json" }
  | { kind: "invalid_body" }
  /** A body of the right JSON shape whose fields a protocol refuses; the message names the field. */
  | {
      kind: "invalid_request";
      message: string;
      /** The request field it is about, in protocols that name it (OpenAI's `param`). */
      param?: string | null;
      /** A more precise code than `invalid_request`, in protocols whose clients act on it. */
      code?: string;
    }
  | { kind: "missing_model" }
  | { kind: "invalid_model_list"; message: string }
  | { kind: "unknown_model"; models: readonly string[] }
  | { kind: "no_candidates" }
  /** No model the request may go to has room for its prompt and a useful answer (docs/contract.md §16). */
  | { kind: "context_length_exceeded"; inputTokens: number; outputTokens: number; windowTokens: number }
  /** No model the request may go to has a capability it needs (§16). */
  | { kind: "model_capability_unavailable"; capabilities: readonly Capability[]; model: string }
  /** The last attempt failed in a way that leaves no upstream answer to pass on. */
  | { kind: "upstream_failed"; reason: FailoverReason }
  | { kind: "client_cancel" }
  | {
      kind: "not_found";
      method: string;
      path: string /** Why, when the path is known to have nothing. */;
      detail?: string;
    }
  | { kind: "method_not_allowed"; method: string; path: string; allow: string }
  | { kind: "not_ready"; code: NotReadyCode; message: string }
  | { kind: "internal_error" }
  /** Managed keys (docs/contract.md §15). */
  | { kind: "model_not_allowed"; model: string }
  | {
      kind: "rate_limit_exceeded";
      limit: "requests" | "tokens" | "concurrency";
      retryAfterMs: number;
      rate: RateState;
      nowMs: number;
    }
  | { kind: "budget_exceeded"; budgetUsd: number; period: BudgetPeriod; resetsAtMs: number | null }
  /** The managed-key objects could not be reached and no lease covers the request. */
  | { kind: "keys_unavailable" }
  | { kind: "admin_disabled" }
  | { kind: "key_not_found"; id: string }
  | { kind: "rollout_not_found"; id: string }
  | { kind: "rollout_conflict"; message: string };

export type FailureKind = Failure["kind"];

/** The HTTP status of a failure. 499 is never sent (the client is gone); it is what the log records. */
export function failureStatus(failure: Failure): number {
  switch (failure.kind) {
    case "invalid_config":
    case "internal_error":
      return 500;
    case "invalid_api_key":
      return 401;
    case "budget_exceeded":
      return 402;
    case "model_not_allowed":
      return 403;
    case "rate_limit_exceeded":
      return 429;
    case "keys_unavailable":
      return 503;
    case "admin_disabled":
    case "key_not_found":
    case "rollout_not_found":
      return 404;
    case "rollout_conflict":
      return 409;
    case "request_too_large":
      return 413;
    case "invalid_json":
    case "invalid_body":
    case "invalid_request":
    case "missing_model":
    case "invalid_model_list":
    case "unknown_model":
    case "context_length_exceeded":
    case "model_capability_unavailable":
      return 400;
    case "no_candidates":
    case "not_ready":
      return 503;
    case "upstream_failed":
      return upstreamFailureStatus(failure.reason);
    case "client_cancel":
      return 499;
    case "not_found":
      return 404;
    case "method_not_allowed":
      return 405;
  }
}

/**
 * Headers a failure carries in every protocol: RFC 9110 `Allow` on 405, `WWW-Authenticate` for a challenge,
 * and on a rate limit `retry-after` with OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`.
 */
export function failureHeaders(failure: Failure): Record<string, string> {
  if (failure.kind === "method_not_allowed") return { allow: failure.allow };
  if (failure.kind === "rate_limit_exceeded") return rateLimitHeaders(failure);
  if (failure.kind === "invalid_api_key" && failure.challenge === "basic") {
    return { "www-authenticate": 'Basic realm="Chutes AutoPilot", charset="UTF-8"' };
  }
  return {};
}

/** The machine-readable code: what the log records and what OpenAI-shaped bodies carry as `code`. */
export function failureCode(failure: Failure): string {
  if (failure.kind === "invalid_request" && failure.code !== undefined) return failure.code;
  switch (failure.kind) {
    case "upstream_failed":
      return failure.reason;
    case "not_ready":
      return failure.code;
    case "invalid_config":
    case "invalid_api_key":
    case "request_too_large":
    case "invalid_json":
    case "invalid_body":
    case "invalid_request":
    case "missing_model":
    case "invalid_model_list":
    case "unknown_model":
    case "no_candidates":
    case "context_length_exceeded":
    case "model_capability_unavailable":
    case "client_cancel":
    case "not_found":
    case "method_not_allowed":
    case "internal_error":
    case "model_not_allowed":
    case "rate_limit_exceeded":
    case "budget_exceeded":
    case "keys_unavailable":
    case "admin_disabled":
    case "key_not_found":
    case "rollout_not_found":
    case "rollout_conflict":
      return failure.kind;
  }
}

/**
 * The router's own failure when the last attempt failed for `reason` (docs/contract.md §7's "otherwise" column); null when
 * that attempt left an upstream answer (5xx, overload 429) to pass on instead.
 */
export function finalFailureFor(reason: FailoverReason): Failure | null {
  switch (reason) {
    case "upstream_connect_error":
    case "upstream_header_timeout":
    case "upstream_first_body_byte_timeout":
    case "upstream_first_body_byte_error":
      return { kind: "upstream_failed", reason };
    case "upstream_500":
    case "upstream_502":
    case "upstream_503":
    case "upstream_504":
    case "upstream_overloaded":
      return null;
  }
}

/** A message for people. Never repeats a secret: config issues name variables, never values. */
export function failureMessage(failure: Failure): string {
  switch (failure.kind) {
    case "invalid_config":
    case "invalid_request":
    case "invalid_model_list":
    case "not_ready":
      return failure.message;
    case "invalid_api_key":
      return "Invalid or missing API key";
    case "request_too_large":
      return `The request body is larger than ${failure.maxBytes} bytes`;
    case "invalid_json":
      return "The request body is not valid JSON";
    case "invalid_body":
      return "The request body must be a JSON object";
    case "missing_model":
      return "The request body needs a `model` string";
    case "unknown_model":
      return `Unknown model: ${failure.models.join(", ")}`;
    case "no_candidates":
      return "No model is available to route this request to";
    case "context_length_exceeded": {
      const { inputTokens, outputTokens, windowTokens } = failure;
      return `This model's maximum context length is ${windowTokens} tokens. However, you requested about ${inputTokens + outputTokens} tokens (${inputTokens} of input, ${outputTokens} for the completion). Please reduce the length of the messages or completion.`;
    }
    case "model_capability_unavailable":
      return `No model behind ${failure.model} supports ${failure.capabilities.map(describeCapability).join(" together with ")}`;
    case "upstream_failed":
      return upstreamFailureMessage(failure.reason);
    case "client_cancel":
      return "The client closed the request";
    case "not_found":
      return `No route for ${failure.method} ${failure.path}${failure.detail ? `: ${failure.detail}` : ""}`;
    case "method_not_allowed":
      return `${failure.method} is not allowed on ${failure.path}`;
    case "internal_error":
      return "The router failed to handle this request";
    case "model_not_allowed":
      return `This key may not use the model ${failure.model}`;
    case "rate_limit_exceeded":
      return failure.limit === "concurrency"
        ? "Too many requests in flight for this key; retry when one finishes"
        : `Rate limit reached for ${failure.limit} per minute on this key; retry after ${Math.ceil(failure.retryAfterMs / 1000)} s`;
    case "budget_exceeded":
      return `This key has spent its budget of $${failure.budgetUsd} for the ${failure.period === "total" ? "whole of its life" : failure.period}${failure.resetsAtMs === null ? "" : `; it resets at ${new Date(failure.resetsAtMs).toISOString()}`}`;
    case "keys_unavailable":
      return "The key service is unavailable; retry shortly";
    case "admin_disabled":
      return "The admin API is off: set the ADMIN_API_KEY secret to turn it on";
    case "key_not_found":
      return `No key with id ${failure.id}`;
    case "rollout_not_found":
      return `No rollout with id ${failure.id}`;
    case "rollout_conflict":
      return failure.message;
  }
}

function describeCapability(capability: Capability): string {
  switch (capability) {
    case "tools":
      return "tool use";
    case "images":
      return "image input";
    case "json_schema":
      return "structured outputs (response_format json_schema)";
    case "json_object":
      return "JSON mode (response_format json_object)";
  }
}

function rateLimitHeaders(
  failure: Extract<Failure, { kind: "rate_limit_exceeded" }>,
): Record<string, string> {
  const { rate, nowMs } = failure;
  const headers: Record<string, string> = {
    "retry-after": String(Math.max(1, Math.ceil(failure.retryAfterMs / 1000))),
  };
  const reset = `${Math.max(0, Math.ceil((rate.windowEndMs - nowMs) / 1000))}s`;
  if (rate.rpm !== null) {
    headers["x-ratelimit-limit-requests"] = String(rate.rpm);
    headers["x-ratelimit-remaining-requests"] = String(Math.floor(rate.requestsRemaining ?? 0));
    headers["x-ratelimit-reset-requests"] = reset;
  }
  if (rate.tpm !== null) {
    headers["x-ratelimit-limit-tokens"] = String(rate.tpm);
    headers["x-ratelimit-remaining-tokens"] = String(Math.floor(rate.tokensRemaining ?? 0));
    headers["x-ratelimit-reset-tokens"] = reset;
  }
  return headers;
}

function upstreamFailureStatus(reason: FailoverReason): number {
  switch (reason) {
    case "upstream_header_timeout":
    case "upstream_first_body_byte_timeout":
      return 504;
    case "upstream_connect_error":
    case "upstream_first_body_byte_error":
    case "upstream_500":
    case "upstream_502":
    case "upstream_503":
    case "upstream_504":
    case "upstream_overloaded":
      return 502;
  }
}

function upstreamFailureMessage(reason: FailoverReason): string {
  switch (reason) {
    case "upstream_connect_error":
      return "Could not connect to the upstream model";
    case "upstream_header_timeout":
      return "The upstream model did not answer in time";
    case "upstream_first_body_byte_timeout":
      return "The upstream model sent no response body in time";
    case "upstream_first_body_byte_error":
      return "The upstream response body failed before its first byte";
    case "upstream_500":
    case "upstream_502":
    case "upstream_503":
    case "upstream_504":
    case "upstream_overloaded":
      return "No upstream model could answer";
  }
}

/** The one exception the shell throws for a failure; the app renders it in the route's protocol. */
export class FailureError extends Error {
  readonly failure: Failure;

  constructor(failure: Failure) {
    super(failureMessage(failure));
    this.name = "FailureError";
    this.failure = failure;
  }
}
