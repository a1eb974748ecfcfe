// Anthropic's error shape (docs/contract.md §14), built here and nowhere else:
// `{"type":"error","error":{"type","message"},"request_id"}`, with the type chosen by status. The router's own
// failures map through one exhaustive switch; upstream error answers are re-worded into the same shape (an
// Anthropic client cannot read Chutes' FastAPI bodies), keeping their status, except that Chutes' capacity
// answers become 529 `overloaded_error`, which Anthropic clients know to retry.
import { classifyEngineRefusal, errorMessageOf } from "../../core/engine-refusal.ts";
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

/**
 * A failure's message as Anthropic words it. A request too long for every model gets the two wordings Claude
 * Code acts on: "prompt is too long" makes it compact, "input length and `max_tokens` exceed context limit"
 * makes it lower `max_tokens` (docs/contract.md §16).
 */
export function anthropicFailureMessage(failure: Failure): string {
  if (failure.kind !== "context_length_exceeded") return failureMessage(failure);
  return (
    contextLimitMessage(failure.inputTokens, failure.outputTokens, failure.windowTokens) ??
    failureMessage(failure)
  );
}

/** Anthropic's wording for a prompt of `input` tokens asking `output` more of a `window`-token model. */
function contextLimitMessage(
  input: number | null,
  output: number | null,
  window: number | null,
): string | null {
  if (input === null || window === null) return null;
  if (input >= window) return `prompt is too long: ${input} tokens > ${window} maximum`;
  if (output === null) return null;
  return `input length and \`max_tokens\` exceed context limit: ${input} + ${output} > ${window}, decrease input length or \`max_tokens\` and try again`;
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
    anthropicErrorBody(status, anthropicFailureMessage(failure), requestId),
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
  return anthropicJson(anthropicErrorBody(finalStatus, detail, requestId), finalStatus, extra, requestId);
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

/**
 * The message of an upstream error answer: an engine's context-length refusal worded as Anthropic words it
 * (clients that compact on it match the wording), any other FastAPI `detail` or OpenAI `error.message` as is.
 */
function upstreamMessage(text: string): string | null {
  const refusal = classifyEngineRefusal(400, text);
  if (refusal?.kind === "context_length") {
    const worded = contextLimitMessage(refusal.inputTokens, refusal.outputTokens, refusal.windowTokens);
    if (worded !== null) return worded;
  }
  return errorMessageOf(text);
}
