import { describe, expect, it } from "vitest";
import { type Failure, failureCode, failureHeaders, failureStatus, finalFailureFor } from "./failure.ts";

function statusOfFinal(reason: Parameters<typeof finalFailureFor>[0]): number | null {
  const failure = finalFailureFor(reason);
  return failure === null ? null : failureStatus(failure);
}

describe("finalFailureFor", () => {
  it("answers 502/504 for failures with no upstream answer, and passes upstream answers on", () => {
    expect(statusOfFinal("upstream_connect_error")).toBe(502);
    expect(statusOfFinal("upstream_header_timeout")).toBe(504);
    expect(statusOfFinal("upstream_first_body_byte_timeout")).toBe(504);
    expect(statusOfFinal("upstream_first_body_byte_error")).toBe(502);
    expect(statusOfFinal("upstream_503")).toBeNull();
    expect(statusOfFinal("upstream_overloaded")).toBeNull();
  });
});

describe("failure headers and codes", () => {
  it("names the allowed methods on a 405 and asks browsers for a key only when told to", () => {
    const notAllowed: Failure = {
      kind: "method_not_allowed",
      method: "PUT",
      path: "/metrics",
      allow: "GET, HEAD",
    };
    expect(failureStatus(notAllowed)).toBe(405);
    expect(failureHeaders(notAllowed)).toEqual({ allow: "GET, HEAD" });
    expect(failureHeaders({ kind: "invalid_api_key", challenge: "none" })).toEqual({});
    expect(failureHeaders({ kind: "invalid_api_key", challenge: "basic" })["www-authenticate"]).toMatch(
      /^Basic /,
    );
  });

  it("codes an upstream failure by its failover reason and a readiness failure by its check", () => {
    expect(failureCode({ kind: "upstream_failed", reason: "upstream_header_timeout" })).toBe(
      "upstream_header_timeout",
    );
    expect(failureCode({ kind: "not_ready", code: "stale_snapshot", message: "old" })).toBe("stale_snapshot");
    expect(failureCode({ kind: "unknown_model", models: ["x"] })).toBe("unknown_model");
  });
});
