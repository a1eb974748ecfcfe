// The OpenAI protocol's routes under /v1 (docs/contract.md §2): the two completion paths, each through the
// shared skeleton (protocols/handle.ts) with the OpenAI adapter, and the model list (in Anthropic's shape for
// a client that sends `anthropic-version`). Failures answer in OpenAI's error shape.
import { Hono } from "hono";
import { describeRoute, resolver } from "hono-openapi";
import type { AppEnv } from "../app-env.ts";
import { COMPLETION_REQUEST } from "../core/completion-body.ts";
import { isolateState } from "../isolate/isolate-state.ts";
import { anthropicModelList } from "../protocols/anthropic/model-list.ts";
import { handleRouted } from "../protocols/handle.ts";
import { failureHandler } from "../protocols/on-error.ts";
import { openAIAdapter } from "../protocols/openai/completions.ts";
import { renderOpenAIFailure } from "../protocols/openai/errors.ts";
import { listModels } from "../routing/model-listing.ts";
import { requireConfig } from "./config-guard.ts";
import { CLIENT_ERRORS } from "./openapi-shared.ts";

export const openAIRoutes = new Hono<AppEnv>();
openAIRoutes.onError(failureHandler((failure) => renderOpenAIFailure(failure)));

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

const chatCompletions = openAIAdapter("/v1/chat/completions");
const completions = openAIAdapter("/v1/completions");
openAIRoutes.post("/chat/completions", described("Chat completion, routed"), requireConfig, (c) =>
  handleRouted(c, chatCompletions),
);
openAIRoutes.post("/completions", described("Text completion, routed"), requireConfig, (c) =>
  handleRouted(c, completions),
);

openAIRoutes.get(
  "/models",
  describeRoute({
    tags: ["openai", "anthropic"],
    summary:
      "The aliases and every allowlisted model (Anthropic's list shape when `anthropic-version` is sent)",
    responses: { 200: { description: "An OpenAI (or Anthropic) model list." } },
  }),
  requireConfig,
  async (c) => {
    const listed = await listModels(isolateState(c.env), c.get("config"), Date.now());
    if (c.req.header("anthropic-version") === undefined)
      return c.json({ object: "list", data: listed.map((model) => model.openai) });
    c.header("request-id", c.get("requestId"));
    return c.json(anthropicModelList(listed));
  },
);
