import { describe, expect, it } from "vitest";
import {
  anthropicErrorType,
  anthropicFailureStatus,
  renderAnthropicFailure,
  rewordContextLimit,
} from "./errors.ts";

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

  it("leaves an error that is not about the context length as it was", () => {
    expect(rewordContextLimit("Invalid value for temperature")).toBe("Invalid value for temperature");
  });
});
