// GET /v1/models (docs/contract.md §2, §14): the two aliases first, then every allowlisted model with its
// upstream metadata. A request with an `anthropic-version` header (the Anthropic SDKs, Claude Code's model
// discovery) gets the same models in Anthropic's list format.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { AppEnv } from "../app-env.ts";
import { isolateState } from "../isolate/isolate-state.ts";
import { requireConfig } from "./config-guard.ts";

export const modelsRoutes = new Hono<AppEnv>();

modelsRoutes.get(
  "/models",
  describeRoute({
    tags: ["openai", "anthropic"],
    summary:
      "The aliases and every allowlisted model (Anthropic's list shape when `anthropic-version` is sent)",
    responses: { 200: { description: "An OpenAI (or Anthropic) model list." } },
  }),
  requireConfig,
  async (c) => {
    const config = c.get("config");
    const models = await isolateState(c.env).views.loadModels(Date.now());
    const aliases = [config.modes.aliasModel, config.modes.teeAliasModel]
      .filter((id, index, all) => all.indexOf(id) === index)
      .map((id) => ({ id, object: "model", created: 0, owned_by: "autopilot" }));
    const aliasIds = new Set(aliases.map((alias) => alias.id));
    const data = [...aliases, ...models.filter((model) => !aliasIds.has(model.id))];
    if (c.req.header("anthropic-version") === undefined) return c.json({ object: "list", data });
    const listed = data.map((model) => ({
      type: "model",
      id: model.id,
      display_name: model.id,
      created_at: new Date((typeof model.created === "number" ? model.created : 0) * 1000).toISOString(),
    }));
    c.header("request-id", c.get("requestId"));
    return c.json({
      data: listed,
      has_more: false,
      first_id: listed[0]?.id ?? null,
      last_id: listed.at(-1)?.id ?? null,
    });
  },
);
