// The request pipeline every protocol drives (docs/contract.md §3–§9, §13, §15): admit (routing/admit.ts,
// called by the adapter before it reads the body) → plan → meter → execute → settle → one RoutingResult.
// Protocol adapters (protocols/*) parse their body into a RoutingRequest and render the result in their own
// shape. A committed answer is settled when its body ends, through the result's `finish`; one that can be
// resumed (routing/resume.ts) carries the splice and continuation the relay uses when its stream breaks.
import { allowsModel } from "../core/managed-key.ts";
import { executePlan } from "./execute.ts";
import { reserveForRequest } from "./meter.ts";
import { planRoute } from "./plan.ts";
import { resumeAnswer } from "./resume.ts";
import type { RoutingContext } from "./routing-context.ts";
import type { RoutingRequest, RoutingResult, RoutingTrace } from "./routing-request.ts";
import { settleResult } from "./settle.ts";

export async function routeRequest(ctx: RoutingContext, request: RoutingRequest): Promise<RoutingResult> {
  const trace: RoutingTrace = { mode: null, candidates: 0, snapshotAgeMs: null, attempts: [] };
  // A refusal is counted where every refused request is (settleRefusal, from the route's middleware).
  if (request.key && !allowsModel(request.key.limits, request.model))
    return { kind: "refused", failure: { kind: "model_not_allowed", model: request.model }, trace };
  const planned = await planRoute(ctx, request, trace);
  if (!planned.ok) return { kind: "refused", failure: planned.failure, trace };
  const { plan } = planned;
  const metered = await reserveForRequest(ctx, request, plan, trace);
  if (!metered.ok) return { kind: "refused", failure: metered.failure, trace };
  const { reservation } = metered;
  const outcome = await executePlan(ctx, request, plan);
  trace.attempts = outcome.attempts;
  if (outcome.kind === "committed") {
    let finished = false;
    const committed: RoutingResult = {
      kind: "committed",
      model: outcome.model,
      commit: outcome.commit,
      trace,
      finish: (stream, parts) => {
        if (finished) return;
        finished = true;
        settleResult(ctx, { plan, request, reservation }, committed, { stream, parts });
      },
      // A stream that breaks mid-answer continues on another attempt when the request allows it (§19).
      ...resumeAnswer(ctx, request, plan, outcome, trace),
    };
    return committed;
  }
  const result: RoutingResult =
    outcome.kind === "failure"
      ? { kind: "failed", failure: outcome.failure, trace }
      : { kind: "upstream_answer", model: outcome.model, response: outcome.response, trace };
  settleResult(ctx, { plan, request, reservation }, result, null);
  return result;
}
