// The error handler each protocol's routes install (Hono's onError, per sub-app): whatever was thrown becomes
// a Failure (a FailureError's own, a body Hono's JSON validator refused as invalid_json, anything else an
// internal_error that is logged without its details reaching the client), rendered in that protocol's shape.
import type { ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../app-env.ts";
import { type Failure, FailureError } from "../core/failure.ts";

/** Renders a failure as a complete answer in one protocol's shape. */
export type FailureRenderer = (failure: Failure, requestId: string) => Response;

export function failureHandler(render: FailureRenderer): ErrorHandler<AppEnv> {
  return (error, c) => {
    const requestId = c.get("requestId");
    const response = render(thrownFailure(error, requestId), requestId);
    response.headers.set("x-request-id", requestId);
    return response;
  };
}

function thrownFailure(error: Error, requestId: string): Failure {
  if (error instanceof FailureError) return error.failure;
  // Hono's JSON validator refuses a body that is not JSON before the schema sees it.
  if (error instanceof HTTPException && error.status === 400) return { kind: "invalid_json" };
  console.error(JSON.stringify({ event: "unhandled_error", requestId, error: String(error) }));
  return { kind: "internal_error" };
}
