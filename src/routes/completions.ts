// POST /v1/chat/completions and POST /v1/completions (docs/contract.md §2): the OpenAI adapter over the
// routing pipeline, one route per upstream path, described for /openapi.json by the schema that reads them.
import { Hono } from "hono";
import { describeRoute, resolver } from "hono-openapi";
import type { AppEnv } from "../app-env.ts";
import { COMPLETION_REQUEST } from "../core/completion-body.ts";
import { handleOpenAICompletion } from "../protocols/openai/completions.ts";
import { requireConfig } from "./config-guard.ts";
import { CLIENT_ERRORS } from "./openapi-shared.ts";

export const completionsRoutes = new Hono<AppEnv>();

const described = (summary: string) =>
  describeRoute({
    tags: ["openai"],
    summary,
    security: [{ clientKey: [] }],
    requestBody: { content: { "application/json": { schema: resolver(COMPLETION_REQUEST) } } },
    responses: {
      200: { description: "The upstream's answer: JSON, or an SSE stream when `stream` is true." },
      ...CLIENT_ERRORS,
    },
  });

completionsRoutes.post("/chat/completions", described("Chat completion, routed"), requireConfig, (c) =>
  handleOpenAICompletion(c, "/v1/chat/completions"),
);
completionsRoutes.post("/completions", described("Text completion, routed"), requireConfig, (c) =>
  handleOpenAICompletion(c, "/v1/completions"),
);
