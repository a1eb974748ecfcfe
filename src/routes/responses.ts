// The Responses API's routes under /v1 (docs/contract.md §20): POST /v1/responses through the shared skeleton
// (protocols/handle.ts) with the Responses adapter. The router stores no responses, so the routes that read or
// act on a stored one answer 404 in OpenAI's shape, saying why. Failures answer in OpenAI's error shape.
import { Hono } from "hono";
import { describeRoute, resolver } from "hono-openapi";
import type { AppEnv } from "../app-env.ts";
import { FailureError } from "../core/failure.ts";
import { handleRouted } from "../protocols/handle.ts";
import { failureHandler } from "../protocols/on-error.ts";
import { responsesAdapter } from "../protocols/responses/adapter.ts";
import { renderResponsesFailure } from "../protocols/responses/errors.ts";
import { RESPONSES_REQUEST } from "../protocols/responses/request-schema.ts";
import { requireConfig } from "./config-guard.ts";
import { CLIENT_ERRORS } from "./openapi-shared.ts";

export const responsesRoutes = new Hono<AppEnv>();
responsesRoutes.onError(failureHandler((failure) => renderResponsesFailure(failure)));

responsesRoutes.post(
  "/responses",
  describeRoute({
    tags: ["openai"],
    summary: "OpenAI Responses, translated to a chat completion and routed (stateless: store is not kept)",
    security: [{ clientKey: [] }],
    requestBody: { content: { "application/json": { schema: resolver(RESPONSES_REQUEST) } } },
    responses: {
      200: { description: "A response object, or its SSE events when `stream` is true." },
      ...CLIENT_ERRORS,
    },
  }),
  requireConfig,
  (c) => handleRouted(c, responsesAdapter),
);

responsesRoutes.all("/responses", (c) => {
  throw new FailureError({
    kind: "method_not_allowed",
    method: c.req.method,
    path: "/v1/responses",
    allow: "POST",
  });
});

// Retrieval, deletion, cancellation, input items, compaction and token counting all need stored responses.
responsesRoutes.all("/responses/*", (c) => {
  throw new FailureError({
    kind: "not_found",
    method: c.req.method,
    path: c.req.path,
    detail: "This router does not store responses: send the whole conversation in each request's `input`.",
  });
});
