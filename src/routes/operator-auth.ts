// In managed mode the operator pages (/status, /metrics) need one of ROUTER_API_KEYS too, as a Bearer token or
// as the password of HTTP Basic auth (the browser's login prompt). /healthz and /readyz stay open for probes.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { isAllowedKey, presentedKey } from "../core/api-keys.ts";
import { FailureError } from "../core/failure.ts";

export const requireOperatorKey = createMiddleware<AppEnv>(async (c, next) => {
  const keys = c.get("config").auth.routerApiKeys;
  if (keys.length > 0 && !isAllowedKey(presentedKey(c.req.header("authorization") ?? null), keys)) {
    throw new FailureError({ kind: "invalid_api_key", challenge: "basic" });
  }
  await next();
});
