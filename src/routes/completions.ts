// POST /v1/chat/completions and POST /v1/completions (docs/contract.md §2): the OpenAI adapter over the
// routing pipeline, one route per upstream path.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { handleOpenAICompletion } from "../protocols/openai/completions.ts";
import { requireConfig } from "./config-guard.ts";

export const completionsRoutes = new Hono<AppEnv>();

completionsRoutes.post("/chat/completions", requireConfig, (c) =>
  handleOpenAICompletion(c, "/v1/chat/completions"),
);
completionsRoutes.post("/completions", requireConfig, (c) => handleOpenAICompletion(c, "/v1/completions"));
