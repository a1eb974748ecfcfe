// What the routes share for /openapi.json and their validators: the client answers every routed /v1 route
// can give (docs/contract.md §8, §15), a JSON response's description, and how a bad body or query is refused.
import { resolver } from "hono-openapi";
import type * as v from "valibot";
import { FailureError } from "../core/failure.ts";

export const CLIENT_ERRORS = {
  400: { description: "Invalid body or model (`invalid_json`, `missing_model`, `unknown_model`, …)." },
  401: { description: "`invalid_api_key`: unknown, revoked or expired key (managed mode)." },
  402: { description: "`budget_exceeded` (type `insufficient_quota`): the managed key spent its budget." },
  403: { description: "`model_not_allowed`: the managed key may not use this model." },
  429: {
    description:
      "`rate_limit_exceeded`: the managed key's rpm, tpm or concurrency; `retry-after` and `x-ratelimit-*` say when.",
  },
  502: { description: "No upstream model could answer." },
  503: { description: "No model to route to, or the key service is unreachable." },
};

/** An OpenAPI JSON response described by a valibot schema. */
export const jsonContent = (description: string, schema: v.GenericSchema) => ({
  description,
  content: { "application/json": { schema: resolver(schema) } },
});

/** A body or query that failed its schema answers 400 `invalid_request` naming the first field and why. */
export function invalidInput(result: { success: boolean; error?: unknown }): void {
  if (result.success) return;
  const issues = (result.error ?? []) as ReadonlyArray<{ message: string; path?: ReadonlyArray<unknown> }>;
  const first = issues[0];
  const field = (first?.path ?? [])
    .map((item) =>
      typeof item === "object" && item !== null && "key" in item ? String(item.key) : String(item),
    )
    .join(".");
  throw new FailureError({
    kind: "invalid_request",
    message: first ? `${field === "" ? "body" : field}: ${first.message}` : "invalid body",
  });
}
