// The request pipeline every protocol drives (docs/contract.md §3–§9): admit (routing/admit.ts, called by
// the adapter before it reads the body) → plan → execute → settle → one RoutingResult. Protocol adapters
// (protocols/*) parse their body into a RoutingRequest and render the result in their own shape.
import { executePlan } from "./execute.ts";
import { planRoute } from "./plan.ts";
import type { RoutingContext } from "./routing-context.ts";
import type { RoutingRequest, RoutingResult, RoutingTrace } from "./routing-request.ts";
import { settleResult } from "./settle.ts";

export async function routeRequest(ctx: RoutingContext, request: RoutingRequest): Promise<RoutingResult> {
  const trace: RoutingTrace = { mode: null, candidates: 0, snapshotAgeMs: null, attempts: [] };
  const planned = await planRoute(ctx, request, trace);
  // A refusal is counted where every refused request is (settleRefusal, from the route's middleware).
  if (!planned.ok) return { kind: "refused", failure: planned.failure, trace };
  const outcome = await executePlan(ctx, request, planned.plan);
  trace.attempts = outcome.attempts;
  const result: RoutingResult =
    outcome.kind === "failure"
      ? { kind: "failed", failure: outcome.failure, trace }
      : outcome.kind === "committed"
        ? { kind: "committed", model: outcome.model, commit: outcome.commit, trace }
        : { kind: "upstream_answer", model: outcome.model, response: outcome.response, trace };
  settleResult(ctx, planned.plan, result);
  return result;
}
