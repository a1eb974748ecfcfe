// GET /metrics: fleet-wide counters and gauges (docs/contract.md §11) from the control-plane object, as Prometheus text.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { renderMetrics } from "../core/prometheus.ts";
import { controlPlaneStub } from "../state/control-plane.ts";
import { requireConfig } from "./config-guard.ts";
import { requireOperatorKey } from "./operator-auth.ts";

export const metricsRoutes = new Hono<AppEnv>();

metricsRoutes.get("/metrics", requireConfig, requireOperatorKey, async (c) => {
  const config = c.get("config");
  const { view, counters } = await controlPlaneStub(c.env).getMetrics();
  const body = renderMetrics(view, counters, config.breaker, Date.now());
  return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
});
