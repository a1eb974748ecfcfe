import { describe, expect, it } from "vitest";
import {
  anthropicErrorType,
  anthropicFailureMessage,
  anthropicFailureStatus,
  renderAnthropicFailure,
  renderUpstreamError,
} from "./errors.ts";

async function upstreamMessage(status: number, body: string): Promise<string> {
  const response = renderUpstreamError(status, body, false, "req-1", new Headers());
  return ((await response.json()) as { error: { message: string } }).error.message;
}

describe("Anthropic errors", () => {
  it("answers no candidates as 529 overloaded_error, which Anthropic clients retry, and keeps other statuses", () => {
    expect(anthropicFailureStatus({ kind: "no_candidates" })).toBe(529);
    expect(anthropicErrorType(529)).toBe("overloaded_error");
    expect(anthropicFailureStatus({ kind: "upstream_failed", reason: "upstream_header_timeout" })).toBe(504);
    expect(anthropicErrorType(504)).toBe("timeout_error");
    expect(anthropicFailureStatus({ kind: "invalid_api_key", challenge: "none" })).toBe(401);
  });

  it("renders a failure with request-id in the body and the header", async () => {
    const response = renderAnthropicFailure({ kind: "no_candidates" }, "req-9");
    expect(response.status).toBe(529);
    expect(response.headers.get("request-id")).toBe("req-9");
    expect(await response.json()).toEqual({
      type: "error",
      error: { type: "overloaded_error", message: "No model is available to route this request to" },
      request_id: "req-9",
    });
  });

  it("words a prompt too long for every model the way Claude Code compacts on", () => {
    const failure = {
      kind: "context_length_exceeded",
      inputTokens: 300_000,
      outputTokens: 32_000,
      windowTokens: 262_144,
    } as const;
    expect(anthropicFailureMessage(failure)).toBe("prompt is too long: 300000 tokens > 262144 maximum");
    expect(anthropicFailureStatus(failure)).toBe(400);
  });

  it("words a prompt that fits without room for max_tokens the way Claude Code lowers max_tokens on", () => {
    const failure = {
      kind: "context_length_exceeded",
      inputTokens: 250_000,
      outputTokens: 32_000,
      windowTokens: 262_144,
    } as const;
    expect(anthropicFailureMessage(failure)).toBe(
      "input length and `max_tokens` exceed context limit: 250000 + 32000 > 262144, decrease input length or `max_tokens` and try again",
    );
  });

  it("rewords an engine's context-length refusal passed back from direct mode", async () => {
    const vllm =
      '{"error":{"message":"This model\'s maximum context length is 40960 tokens. However, you requested 128000 output tokens and your prompt contains at least 20413 input tokens, for a total of at least 148413 tokens.","code":400}}';
    expect(await upstreamMessage(400, vllm)).toBe(
      "input length and `max_tokens` exceed context limit: 20413 + 128000 > 40960, decrease input length or `max_tokens` and try again",
    );
    const sglang =
      '{"detail":"The input (50123 tokens) is longer than the model\'s context length (40960 tokens)."}';
    expect(await upstreamMessage(400, sglang)).toBe("prompt is too long: 50123 tokens > 40960 maximum");
  });

  it("leaves an error that is not about the context length as it was", async () => {
    expect(await upstreamMessage(400, '{"detail":"Invalid value for temperature"}')).toBe(
      "Invalid value for temperature",
    );
    expect(await upstreamMessage(418, "<html>teapot</html>")).toBe("The upstream model answered 418");
  });
});
