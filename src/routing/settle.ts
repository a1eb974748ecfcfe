// Stage 4, settle: what the fleet learns from the request once its attempts are decided. The sticky write
// (docs/contract.md §5) and the outcome report (breakers and counters, §7 and §11) are queued in this
// isolate and flushed in batches off the request path.
import type { OutcomeReport } from "../core/outcome.ts";
import type { StickyWrite } from "../state/sticky-shard.ts";
import type { RoutePlan } from "./plan.ts";
import type { RoutingContext } from "./routing-context.ts";
import { type RoutingResult, resultStatus } from "./routing-request.ts";

/** Queues the sticky write and outcome report of a routed request. */
export function settleResult(ctx: RoutingContext, plan: RoutePlan, result: RoutingResult): void {
  const { attempts } = result.trace;
  const committedModel = result.kind === "committed" ? result.model : null;
  const stickyWrite: StickyWrite | null = plan.stickyKey
    ? ctx.isolate.sticky.settle(plan.stickyKey, {
        stickyModel: plan.stickyModel,
        candidates: plan.candidates,
        attempts,
        committedModel,
        nowMs: ctx.now(),
      })
    : null;
  const selected = result.kind === "committed" || result.kind === "upstream_answer" ? result.model : null;
  const report: OutcomeReport = { status: resultStatus(result), selected, attempts };
  ctx.isolate.outcomes.enqueue(ctx.waitUntil, report, stickyWrite);
}

/** Counts a request the router answered without routing it (refused, or bad before its body was read). */
export function settleRefusal(ctx: Pick<RoutingContext, "isolate" | "waitUntil">, status: number): void {
  ctx.isolate.outcomes.enqueue(ctx.waitUntil, { status, selected: null, attempts: [] }, null);
}
