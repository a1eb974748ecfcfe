// Counts the API requests the router refused before routing them (401, 413, 400, 405, …) in requests_total,
// as routed requests are counted by the pipeline's settle stage (docs/contract.md §11). A refusal is any
// answer that ended in a thrown failure.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { isolateState } from "../isolate/isolate-state.ts";
import { settleRefusal } from "../routing/settle.ts";

export const countRefusals = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.error === undefined) return;
  settleRefusal(
    { isolate: isolateState(c.env), waitUntil: (p) => c.executionCtx.waitUntil(p) },
    c.res.status,
    c.get("log").routed,
  );
});
