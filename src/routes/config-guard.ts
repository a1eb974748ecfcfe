// Middleware that puts the parsed Config on the context, or answers docs/contract.md §1's invalid_config error.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { type ConfigIssue, readConfig } from "../config.ts";
import { FailureError } from "../core/failure.ts";

/** Describes refused variables by name only: a value may be a secret. */
export function describeConfigIssues(issues: readonly ConfigIssue[]): string {
  return `Invalid configuration: ${issues.map((issue) => `${issue.variable} ${issue.message}`).join("; ")}`;
}

/** For request routes: a bad config is the router's fault, 500 server_error / invalid_config. */
export const requireConfig = createMiddleware<AppEnv>(async (c, next) => {
  const result = readConfig(c.env);
  if (!result.ok)
    throw new FailureError({ kind: "invalid_config", message: describeConfigIssues(result.issues) });
  c.set("config", result.config);
  await next();
});
