// In managed mode the operator pages (/status, /metrics) need a key, as a Bearer token or as the password of
// HTTP Basic auth (the browser's login prompt): ADMIN_API_KEY when it is set (docs/contract.md §15; client
// keys then no longer open them), else one of ROUTER_API_KEYS. /healthz and /readyz stay open for probes.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { isAllowedKey, presentedKey } from "../core/api-keys.ts";
import { FailureError } from "../core/failure.ts";

export const requireOperatorKey = createMiddleware<AppEnv>(async (c, next) => {
  const { adminApiKey, routerApiKeys } = c.get("config").auth;
  const keys = adminApiKey === null ? routerApiKeys : [adminApiKey];
  if (keys.length > 0 && !isAllowedKey(presentedKey(c.req.header("authorization") ?? null), keys)) {
    throw new FailureError({ kind: "invalid_api_key", challenge: "basic" });
  }
  await next();
});

/**
 * The admin key, and nothing else, opens what only the operator may see (/admin/*, the records pages): 404
 * `admin_disabled` without ADMIN_API_KEY. `challenge: "basic"` asks a browser to log in.
 */
export function requireAdminKey(challenge: "none" | "basic") {
  return createMiddleware<AppEnv>(async (c, next) => {
    const admin = c.get("config").auth.adminApiKey;
    if (admin === null) throw new FailureError({ kind: "admin_disabled" });
    if (!isAllowedKey(presentedKey(c.req.header("authorization") ?? null), [admin]))
      throw new FailureError({ kind: "invalid_api_key", challenge });
    await next();
  });
}
