// OpenAI's error shape (docs/contract.md §8), built here and nowhere else: `{"error":{"message","type","param",
// "code"}}` with null for absent fields. Every router failure maps to it through one exhaustive switch, and
// the stream error event that ends a broken SSE stream carries the same body.
import type { Capability } from "../../core/capabilities.ts";
import { formatSseText } from "../../core/event-stream.ts";
import {
  type Failure,
  failureCode,
  failureHeaders,
  failureMessage,
  failureStatus,
} from "../../core/failure.ts";

export type OpenAIErrorType =
  | "invalid_request_error"
  | "server_error"
  | "not_ready"
  | "upstream_error"
  | "insufficient_quota"
  | "requests"
  | "tokens";

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null };
}

/** The body for a router failure. */
export function toOpenAIError(failure: Failure): OpenAIErrorBody {
  const body = (type: OpenAIErrorType, param: string | null = null): OpenAIErrorBody => ({
    error: { message: failureMessage(failure), type, param, code: failureCode(failure) },
  });
  switch (failure.kind) {
    case "invalid_request":
      return body("invalid_request_error", failure.param ?? null);
    case "invalid_api_key":
    case "request_too_large":
    case "invalid_json":
    case "invalid_body":
    case "client_cancel":
    case "not_found":
    case "method_not_allowed":
      return body("invalid_request_error");
    case "missing_model":
    case "invalid_model_list":
    case "unknown_model":
      return body("invalid_request_error", "model");
    case "context_length_exceeded":
      return body("invalid_request_error", "messages");
    case "model_capability_unavailable":
      return body("invalid_request_error", capabilityParam(failure.capabilities[0]));
    case "invalid_config":
    case "no_candidates":
    case "internal_error":
      return body("server_error");
    case "upstream_failed":
      return body("upstream_error");
    case "not_ready":
      return body("not_ready");
    case "model_not_allowed":
      return body("invalid_request_error", "model");
    case "rate_limit_exceeded":
      // OpenAI names the limit that was hit as the type.
      return body(failure.limit === "tokens" ? "tokens" : "requests");
    case "budget_exceeded":
      return body("insufficient_quota");
    case "keys_unavailable":
      return body("server_error");
    case "admin_disabled":
    case "key_not_found":
    case "rollout_not_found":
    case "rollout_conflict":
      return body("invalid_request_error");
  }
}

/** The request field a missing capability is about. */
function capabilityParam(capability: Capability | undefined): string {
  switch (capability) {
    case "tools":
      return "tools";
    case "json_schema":
    case "json_object":
      return "response_format";
    case "images":
    case undefined:
      return "messages";
  }
}

/**
 * A complete JSON answer for a router failure, with its status and headers plus `extraHeaders`. `params`
 * renames the request fields named in `param` for a protocol that calls them otherwise (Responses: `input`).
 */
export function renderOpenAIFailure(
  failure: Failure,
  extraHeaders?: HeadersInit,
  params?: Readonly<Record<string, string>>,
): Response {
  const headers = new Headers(extraHeaders);
  for (const [name, value] of Object.entries(failureHeaders(failure))) headers.set(name, value);
  headers.set("content-type", "application/json");
  const body = toOpenAIError(failure);
  const param = body.error.param;
  if (param !== null && params?.[param] !== undefined) body.error.param = params[param];
  return new Response(JSON.stringify(body), { status: failureStatus(failure), headers });
}

const encoder = new TextEncoder();

/**
 * `data: {"error":{…,"code":"upstream_stream_error"}}` as one complete SSE event, preceded by a blank line when
 * the stream stopped mid-event so the error is never glued onto a partial line.
 */
export function formatStreamErrorEvent(message: string, endedMidEvent: boolean): string {
  const body: OpenAIErrorBody = {
    error: { message, type: "upstream_error", param: null, code: "upstream_stream_error" },
  };
  const event = formatSseText(JSON.stringify(body));
  return endedMidEvent ? `\n\n${event}` : event;
}

/** The relay's error encoder for OpenAI streams. */
export function openAIStreamErrorEvent(message: string, endedMidEvent: boolean): Uint8Array {
  return encoder.encode(formatStreamErrorEvent(message, endedMidEvent));
}
