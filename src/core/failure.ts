// The router's own failures as data (docs/contract.md §8): every answer the router gives itself, rather than
// passing on an upstream's, is one of these. Status, headers, code and message are the same in every protocol
// and decided here; each protocol renders the body in its own shape with one exhaustive switch
// (protocols/openai/errors.ts), so a new kind does not compile until every protocol maps it.
import type { FailoverReason } from "./failover-policy.ts";
import type { NotReadyCode } from "./readiness.ts";

export type Failure =
  | { kind: "invalid_config"; message: string }
  /** `challenge: "basic"` asks a browser for the key (the operator pages). */
  | { kind: "invalid_api_key"; challenge: "none" | "basic" }
  | { kind: "request_too_large"; maxBytes: number }
  | { kind: "invalid_json" }
  | { kind: "invalid_body" }
  /** A body of the right JSON shape whose fields a protocol refuses; the message names the field. */
  | { kind: "invalid_request"; message: string }
  | { kind: "missing_model" }
  | { kind: "invalid_model_list"; message: string }
  | { kind: "unknown_model"; models: readonly string[] }
  | { kind: "no_candidates" }
  /** The last attempt failed in a way that leaves no upstream answer to pass on. */
  | { kind: "upstream_failed"; reason: FailoverReason }
  | { kind: "client_cancel" }
  | { kind: "not_found"; method: string; path: string }
  | { kind: "method_not_allowed"; method: string; path: string; allow: string }
  | { kind: "not_ready"; code: NotReadyCode; message: string }
  | { kind: "internal_error" };

export type FailureKind = Failure["kind"];

/** The HTTP status of a failure. 499 is never sent (the client is gone); it is what the log records. */
export function failureStatus(failure: Failure): number {
  switch (failure.kind) {
    case "invalid_config":
    case "internal_error":
      return 500;
    case "invalid_api_key":
      return 401;
    case "request_too_large":
      return 413;
    case "invalid_json":
    case "invalid_body":
    case "invalid_request":
    case "missing_model":
    case "invalid_model_list":
    case "unknown_model":
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

/** Headers a failure carries in every protocol (RFC 9110 `Allow` on 405, `WWW-Authenticate` for a challenge). */
export function failureHeaders(failure: Failure): Record<string, string> {
  if (failure.kind === "method_not_allowed") return { allow: failure.allow };
  if (failure.kind === "invalid_api_key" && failure.challenge === "basic") {
    return { "www-authenticate": 'Basic realm="Chutes AutoPilot", charset="UTF-8"' };
  }
  return {};
}

/** The machine-readable code: what the log records and what OpenAI-shaped bodies carry as `code`. */
export function failureCode(failure: Failure): string {
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
    case "client_cancel":
    case "not_found":
    case "method_not_allowed":
    case "internal_error":
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
    case "upstream_failed":
      return upstreamFailureMessage(failure.reason);
    case "client_cancel":
      return "The client closed the request";
    case "not_found":
      return `No route for ${failure.method} ${failure.path}`;
    case "method_not_allowed":
      return `${failure.method} is not allowed on ${failure.path}`;
    case "internal_error":
      return "The router failed to handle this request";
  }
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
