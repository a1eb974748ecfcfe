// Liveness and readiness (docs/contract.md §2, §10). /readyz reads the control-plane object's timestamps (through the
// isolate cache), so every isolate gives the same verdict.
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { readConfig } from "../config.ts";
import { evaluateReadiness, type Readiness } from "../core/readiness.ts";
import { isolateState } from "../isolate/isolate-state.ts";
import { toOpenAIError } from "../protocols/openai/errors.ts";
import { describeConfigIssues } from "./config-guard.ts";

export const healthRoutes = new Hono<AppEnv>();

healthRoutes.get("/healthz", (c) => c.text("ok"));

healthRoutes.get("/readyz", async (c) => {
  const readiness = await checkReadiness(c.env, Date.now());
  if (readiness.ready) return c.text("ready");
  return c.json(toOpenAIError({ kind: "not_ready", code: readiness.code, message: readiness.message }), 503);
});

/** Readiness including the config check, shared by /readyz and /status. */
export async function checkReadiness(env: AppEnv["Bindings"], nowMs: number): Promise<Readiness> {
  const config = readConfig(env);
  if (!config.ok)
    return { ready: false, code: "invalid_config", message: describeConfigIssues(config.issues) };
  const { view } = await isolateState(env).views.load(nowMs);
  return evaluateReadiness(view, config.config.readiness, nowMs);
}
