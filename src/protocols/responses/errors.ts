// Errors for the Responses API (docs/contract.md §20): OpenAI's shape, `{"error":{"message","type","param",
// "code"}}`, as for chat completions (openai/errors.ts renders the router's own failures). What differs is an
// upstream error answer: a chat client gets Chutes' body as it came, but a Responses client (Codex) reads
// `error.code`, so the answer is re-worded into OpenAI's shape with its status kept. An engine's context-length
// refusal becomes `context_length_exceeded`, on which Codex marks its window full and compacts; nothing is given
// a code Codex treats as fatal when a retry could succeed (`server_is_overloaded`, `slow_down`).
import { classifyEngineRefusal, errorMessageOf } from "../../core/engine-refusal.ts";
import type { Failure } from "../../core/failure.ts";
import { type OpenAIErrorBody, renderOpenAIFailure } from "../openai/errors.ts";

// The chat fields a failure names, as a Responses request calls them.
const RESPONSES_PARAMS = { messages: "input", response_format: "text.format" };

/** A router failure in OpenAI's shape, naming the Responses request's fields. */
export function renderResponsesFailure(failure: Failure, headers?: HeadersInit): Response {
  return renderOpenAIFailure(failure, headers, RESPONSES_PARAMS);
}

/** An upstream error answer (already read) in OpenAI's shape, with its status and `headers`. */
export function renderUpstreamError(status: number, bodyText: string, headers: Headers): Response {
  const message = errorMessageOf(bodyText) ?? `The upstream model answered ${status}`;
  const refusal = classifyEngineRefusal(status, bodyText);
  const body: OpenAIErrorBody = {
    error:
      refusal?.kind === "context_length"
        ? { message, type: "invalid_request_error", param: "input", code: "context_length_exceeded" }
        : {
            message,
            type: status >= 500 ? "server_error" : "invalid_request_error",
            param: null,
            code: status === 429 ? "rate_limit_exceeded" : "upstream_error",
          },
  };
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers });
}
