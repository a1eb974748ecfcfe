// The Anthropic protocol's routes under /v1 (docs/contract.md §14): Messages through the shared skeleton
// (protocols/handle.ts) with the Anthropic adapter, the token count Claude Code sizes its compaction with, and
// the 404/405 answers under /v1/messages. Every failure here answers in Anthropic's error shape with
// `request-id` (protocols/anthropic/errors.ts).
import { Hono } from "hono";
import { describeRoute, resolver } from "hono-openapi";
import type { AppEnv } from "../app-env.ts";
import { readJsonObject } from "../core/completion-body.ts";
import { FailureError } from "../core/failure.ts";
import { countInputTokens } from "../protocols/anthropic/count-tokens.ts";
import { renderAnthropicFailure } from "../protocols/anthropic/errors.ts";
import { anthropicCredential } from "../protocols/anthropic/http.ts";
import { anthropicAdapter } from "../protocols/anthropic/messages.ts";
import { MESSAGES_REQUEST } from "../protocols/anthropic/request-schema.ts";
import { admitAndRead, handleRouted } from "../protocols/handle.ts";
import { failureHandler } from "../protocols/on-error.ts";
import { requireConfig } from "./config-guard.ts";
import { CLIENT_ERRORS } from "./openapi-shared.ts";

export const anthropicRoutes = new Hono<AppEnv>();
anthropicRoutes.onError(failureHandler(renderAnthropicFailure));

anthropicRoutes.post(
  "/messages",
  describeRoute({
    tags: ["anthropic"],
    summary: "Anthropic Messages, translated to a chat completion and routed",
    security: [{ clientKey: [] }],
    requestBody: { content: { "application/json": { schema: resolver(MESSAGES_REQUEST) } } },
    responses: {
      200: { description: "An Anthropic message, or its SSE events when `stream` is true." },
      ...CLIENT_ERRORS,
    },
  }),
  requireConfig,
  (c) => handleRouted(c, anthropicAdapter(c.get("config").anthropic.modelMap)),
);

anthropicRoutes.post("/messages/count_tokens", requireConfig, async (c) => {
  const { body } = await admitAndRead(c, anthropicCredential(c.req.raw.headers));
  const read = readJsonObject(body);
  if (!read.ok) throw new FailureError(read.failure);
  const counted = countInputTokens(read.body);
  if (!counted.ok) throw new FailureError({ kind: "invalid_request", message: counted.message });
  c.header("request-id", c.get("requestId"));
  return c.json({ input_tokens: counted.tokens });
});

for (const path of ["/messages", "/messages/count_tokens"]) {
  anthropicRoutes.all(path, (c) => {
    throw new FailureError({
      kind: "method_not_allowed",
      method: c.req.method,
      path: `/v1${path}`,
      allow: "POST",
    });
  });
}
anthropicRoutes.all("/messages/*", (c) => {
  throw new FailureError({ kind: "not_found", method: c.req.method, path: c.req.path });
});
