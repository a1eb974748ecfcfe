import { describe, expect, it } from "vitest";
import type { Failure } from "../../core/failure.ts";
import { formatStreamErrorEvent, renderOpenAIFailure, toOpenAIError } from "./errors.ts";

describe("formatStreamErrorEvent", () => {
  it("is one complete SSE event carrying an OpenAI error with code upstream_stream_error", () => {
    const event = formatStreamErrorEvent("stalled", false);
    expect(event.endsWith("\n\n")).toBe(true);
    expect(JSON.parse(event.replace(/^data: /, ""))).toEqual({
      error: { message: "stalled", type: "upstream_error", param: null, code: "upstream_stream_error" },
    });
  });

  it("starts on a fresh line when the stream stopped mid-event", () => {
    expect(formatStreamErrorEvent("x", true).startsWith("\n\ndata: ")).toBe(true);
  });
});

describe("toOpenAIError", () => {
  it.each<[Failure, string, string | null]>([
    [{ kind: "unknown_model", models: ["a", "b"] }, "invalid_request_error", "model"],
    [{ kind: "invalid_json" }, "invalid_request_error", null],
    [{ kind: "no_candidates" }, "server_error", null],
    [{ kind: "upstream_failed", reason: "upstream_connect_error" }, "upstream_error", null],
    [{ kind: "not_ready", code: "missing_snapshot", message: "never loaded" }, "not_ready", null],
  ])("%j has type %s and param %s", (failure, type, param) => {
    expect(toOpenAIError(failure).error).toMatchObject({ type, param });
  });
});

describe("renderOpenAIFailure", () => {
  it("answers JSON with the failure's status, its own headers and the caller's", async () => {
    const response = renderOpenAIFailure(
      { kind: "method_not_allowed", method: "POST", path: "/healthz", allow: "GET, HEAD" },
      { "x-request-id": "req-1" },
    );
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
    expect(response.headers.get("x-request-id")).toBe("req-1");
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({
      error: {
        message: "POST is not allowed on /healthz",
        type: "invalid_request_error",
        param: null,
        code: "method_not_allowed",
      },
    });
  });
});
