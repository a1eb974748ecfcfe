// POST /v1/messages and POST /v1/messages/count_tokens (docs/contract.md §14): the Anthropic Messages adapter
// over the routing pipeline, and the token estimate Claude Code sizes its compaction with.
import { Hono } from "hono";
import { describeRoute, resolver } from "hono-openapi";
import type { AppEnv } from "../app-env.ts";
import { FailureError } from "../core/failure.ts";
import { countInputTokens } from "../protocols/anthropic/count-tokens.ts";
import { anthropicCredential, readJsonObject } from "../protocols/anthropic/http.ts";
import { handleAnthropicMessages } from "../protocols/anthropic/messages.ts";
import { MESSAGES_REQUEST } from "../protocols/anthropic/request-schema.ts";
import { admitOrThrow } from "../routing/admit.ts";
import { createRoutingContext } from "../routing/routing-context.ts";
import { readBodyWithLimit } from "../upstream/read-body.ts";
import { requireConfig } from "./config-guard.ts";
import { CLIENT_ERRORS } from "./openapi-shared.ts";

export const messagesRoutes = new Hono<AppEnv>();

messagesRoutes.post(
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
  (c) => handleAnthropicMessages(c),
);

messagesRoutes.post("/messages/count_tokens", requireConfig, async (c) => {
  const config = c.get("config");
  const ctx = createRoutingContext(c.env, config, Date.now(), (promise) => c.executionCtx.waitUntil(promise));
  await admitOrThrow(ctx, anthropicCredential(c.req.raw.headers), c.get("log"));
  const body = readJsonObject(await readBodyWithLimit(c.req.raw, config.upstream.maxRequestBytes));
  const counted = countInputTokens(body);
  if (!counted.ok) throw new FailureError({ kind: "invalid_request", message: counted.message });
  c.header("request-id", c.get("requestId"));
  return c.json({ input_tokens: counted.tokens });
});
