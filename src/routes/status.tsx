// GET /status: the status page for browsers, the same facts as JSON for `Accept: application/json`. With
// ADMIN_API_KEY set it also shows the managed keys: spend against budget, use and limits.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { evaluateReadiness } from "../core/readiness.ts";
import { controlPlaneStub } from "../state/control-plane.ts";
import { requireConfig } from "./config-guard.ts";
import { listKeys } from "./key-views.ts";
import { requireOperatorKey } from "./operator-auth.ts";
import { rolloutView } from "./rollouts.ts";
import { buildStatusModel } from "./status-model.ts";
import { StatusPage } from "./status-page.tsx";

export const statusRoutes = new Hono<AppEnv>();

statusRoutes.get("/status", requireConfig, requireOperatorKey, async (c) => {
  const nowMs = Date.now();
  const config = c.get("config");
  const metrics = await controlPlaneStub(c.env).getMetrics();
  const readiness = evaluateReadiness(metrics.view, config.readiness, nowMs);
  const model = buildStatusModel(metrics, readiness, config, nowMs);
  if (config.auth.adminApiKey !== null) model.keys = await listKeys(c.env);
  const rollouts = await controlPlaneStub(c.env).listRollouts();
  if (rollouts.length > 0) model.rollouts = rollouts.map(rolloutView);
  if ((c.req.header("accept") ?? "").includes("application/json")) return c.json(model);
  return c.html(`<!doctype html>${(<StatusPage model={model} />).toString()}`);
});
