// GET /v1/models (docs/contract.md §2): the two aliases first, then every allowlisted model with its upstream metadata.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { isolateState } from "../isolate/isolate-state.ts";
import { requireConfig } from "./config-guard.ts";

export const modelsRoutes = new Hono<AppEnv>();

modelsRoutes.get("/models", requireConfig, async (c) => {
  const config = c.get("config");
  const models = await isolateState(c.env).views.loadModels(Date.now());
  const aliases = [config.modes.aliasModel, config.modes.teeAliasModel]
    .filter((id, index, all) => all.indexOf(id) === index)
    .map((id) => ({ id, object: "model", created: 0, owned_by: "autopilot" }));
  const aliasIds = new Set(aliases.map((alias) => alias.id));
  return c.json({ object: "list", data: [...aliases, ...models.filter((model) => !aliasIds.has(model.id))] });
});
