// Stage 4, settle: what the fleet learns from the request once it is decided. For a committed answer that is
// when its body ended (docs/contract.md §13): a body that broke or stalled is its model's failure and moves
// the client on, and only one that completed is a success. The sticky write (§5) and the outcome report
// (breakers, model health, counters) are queued in this isolate and flushed in batches off the request path.
import { isFailedStream, type OutcomeReport, type StreamOutcome } from "../core/outcome.ts";
import type { StickyWrite } from "../state/sticky-shard.ts";
import type { RoutePlan } from "./plan.ts";
import type { RoutingContext } from "./routing-context.ts";
import { type RoutingResult, resultStatus } from "./routing-request.ts";

/** Queues the sticky write and outcome report of a routed request; `stream` once a committed body ended. */
export function settleResult(
  ctx: RoutingContext,
  plan: RoutePlan,
  result: RoutingResult,
  stream: StreamOutcome | null,
): void {
  const { attempts } = result.trace;
  const committedModel = result.kind === "committed" ? result.model : null;
  const stickyWrite: StickyWrite | null = plan.stickyKey
    ? ctx.isolate.sticky.settle(plan.stickyKey, {
        stickyModel: plan.stickyModel,
        candidates: plan.candidates,
        attempts,
        streamFailed: stream !== null && isFailedStream(stream.end),
        committedModel,
        nowMs: ctx.now(),
      })
    : null;
  const selected = result.kind === "committed" || result.kind === "upstream_answer" ? result.model : null;
  const report: OutcomeReport = { status: resultStatus(result), selected, attempts, stream };
  ctx.isolate.outcomes.enqueue(ctx.waitUntil, report, stickyWrite);
}

/** Counts a request the router answered without routing it (refused, or bad before its body was read). */
export function settleRefusal(ctx: Pick<RoutingContext, "isolate" | "waitUntil">, status: number): void {
  ctx.isolate.outcomes.enqueue(ctx.waitUntil, { status, selected: null, attempts: [], stream: null }, null);
}
