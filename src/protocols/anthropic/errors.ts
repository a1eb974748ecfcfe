// Anthropic's error shape (docs/contract.md §14), built here and nowhere else:
// `{"type":"error","error":{"type","message"},"request_id"}`, with the type chosen by status. The router's own
// failures map through one exhaustive switch; upstream error answers are re-worded into the same shape (an
// Anthropic client cannot read Chutes' FastAPI bodies), keeping their status, except that Chutes' capacity
// answers become 529 `overloaded_error`, which Anthropic clients know to retry.
import { type Failure, failureHeaders, failureMessage, failureStatus } from "../../core/failure.ts";

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "timeout_error"
  | "overloaded_error";

export interface AnthropicErrorBody {
  type: "error";
  error: { type: AnthropicErrorType; message: string };
  request_id: string;
}

/** The error type Anthropic uses for a status. */
export function anthropicErrorType(status: number): AnthropicErrorType {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 504:
      return "timeout_error";
    case 529:
      return "overloaded_error";
    default:
      return status < 500 ? "invalid_request_error" : "api_error";
  }
}

/** The status an Anthropic client gets for a router failure: its own, except that having no model to route
 * to is a capacity problem, which Anthropic clients know as 529 and retry. */
export function anthropicFailureStatus(failure: Failure): number {
  return failure.kind === "no_candidates" ? 529 : failureStatus(failure);
}

export function anthropicErrorBody(status: number, message: string, requestId: string): AnthropicErrorBody {
  return { type: "error", error: { type: anthropicErrorType(status), message }, request_id: requestId };
}

/** A complete JSON answer for a router failure, with `request-id` and the failure's own headers. */
export function renderAnthropicFailure(failure: Failure, requestId: string, extra?: HeadersInit): Response {
  const status = anthropicFailureStatus(failure);
  const headers = new Headers(extra);
  for (const [name, value] of Object.entries(failureHeaders(failure))) headers.set(name, value);
  return anthropicJson(
    anthropicErrorBody(status, failureMessage(failure), requestId),
    status,
    headers,
    requestId,
  );
}

/**
 * An upstream error answer (already read) in Anthropic's shape. A Chutes overload 429 or 503 is 529
 * `overloaded_error`; a context-length 400 is worded as Anthropic words it, since clients that compact on it
 * match the wording; `retry-after` is kept.
 */
export function renderUpstreamError(
  status: number,
  bodyText: string,
  overloaded: boolean,
  requestId: string,
  extra: Headers,
): Response {
  const detail = upstreamMessage(bodyText) ?? `The upstream model answered ${status}`;
  const finalStatus = overloaded || status === 503 ? 529 : status;
  const message = status === 400 ? rewordContextLimit(detail) : detail;
  return anthropicJson(anthropicErrorBody(finalStatus, message, requestId), finalStatus, extra, requestId);
}

function anthropicJson(
  body: AnthropicErrorBody,
  status: number,
  headers: Headers,
  requestId: string,
): Response {
  headers.set("content-type", "application/json");
  headers.set("request-id", requestId);
  return new Response(JSON.stringify(body), { status, headers });
}

/** The human message of a FastAPI (`detail`) or OpenAI (`error.message`) error body. */
function upstreamMessage(text: string): string | null {
  try {
    const body = JSON.parse(text) as { detail?: unknown; error?: { message?: unknown }; message?: unknown };
    if (typeof body.detail === "string") return body.detail;
    if (typeof body.error?.message === "string") return body.error.message;
    if (typeof body.message === "string") return body.message;
    if (body.detail !== undefined) return JSON.stringify(body.detail);
  } catch {
    // Not JSON (an HTML page from the edge): the generic message says enough.
  }
  return null;
}

/**
 * vLLM: "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens (38000 in the
 * messages, 2000 in the completion)." Anthropic: "input length and `max_tokens` exceed context limit: 38000 +
 * 2000 > 32768, decrease input length or `max_tokens` and try again".
 */
export function rewordContextLimit(message: string): string {
  const limit = /maximum context length is (\d+)/i.exec(message)?.[1];
  const parts = /\((\d+) in the messages, (\d+) in the completion\)/i.exec(message);
  if (!limit) return message;
  const input = parts?.[1] ?? "?";
  const output = parts?.[2] ?? "?";
  return `input length and \`max_tokens\` exceed context limit: ${input} + ${output} > ${limit}, decrease input length or \`max_tokens\` and try again`;
}
