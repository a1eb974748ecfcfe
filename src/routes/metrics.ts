// GET /metrics: fleet-wide counters and gauges (SPEC §11) from the control-plane object, as Prometheus text.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { breakerOptionsOf } from "../config.ts";
import { controlPlane } from "../control/routing-view.ts";
import { renderMetrics } from "../core/prometheus.ts";
import { requireConfig } from "./config-guard.ts";
import { requireOperatorKey } from "./operator-auth.ts";

export const metricsRoutes = new Hono<AppEnv>();

metricsRoutes.get("/metrics", requireConfig, requireOperatorKey, async (c) => {
  const config = c.get("config");
  const { view, counters } = await controlPlane(c.env).getMetrics();
  const body = renderMetrics(view, counters, breakerOptionsOf(config), Date.now());
  return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
});
