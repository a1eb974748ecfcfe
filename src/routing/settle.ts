// Stage 4, settle: what the fleet learns from the request once it is decided. For a committed answer that is
// when its body ended (docs/contract.md §13): a body that broke or stalled is its model's failure and moves
// the client on, and only one that completed is a success. What the answer used is metered (§15): charged to
// the managed key's lease and counted per model. The sticky write (§5) and the outcome report (breakers,
// model health, counters) are queued in this isolate and flushed in batches off the request path.
import type { Reservation } from "../core/key-lease.ts";
import { isFailedStream, type OutcomeReport, type PartEnd, type StreamOutcome } from "../core/outcome.ts";
import { meterUsage } from "../core/usage-meter.ts";
import type { StickyWrite } from "../state/sticky-shard.ts";
import { answerUse } from "./meter.ts";
import type { RoutePlan } from "./plan.ts";
import type { RoutingContext } from "./routing-context.ts";
import { type RoutingRequest, type RoutingResult, resultStatus } from "./routing-request.ts";

/** What the pipeline decided before the answer: the plan, the request and its key's reservation. */
export interface SettleInput {
  plan: RoutePlan;
  request: RoutingRequest;
  reservation: Reservation | null;
}

/** How a committed body ended, and what the relay saw of each of its parts. */
export interface BodyEnd {
  stream: StreamOutcome;
  parts: readonly PartEnd[];
}

/** Queues the sticky write and outcome report of a routed request; `body` once a committed body ended. */
export function settleResult(
  ctx: RoutingContext,
  { plan, request, reservation }: SettleInput,
  result: RoutingResult,
  body: BodyEnd | null,
): void {
  const { attempts } = result.trace;
  const stream = body?.stream ?? null;
  // Each committed attempt is one part of the answer, in order (routing-request.ts); the last one answers.
  const committed = result.kind === "committed" ? attempts.filter((a) => a.outcome === "committed") : [];
  const parts = body?.parts ?? [];
  if (parts.length > 1)
    for (const [i, part] of parts.entries()) if (committed[i]) committed[i].streamEnd = part.end;
  const committedModel = committed.at(-1)?.model ?? (result.kind === "committed" ? result.model : null);
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
  const pricingOf = (model: string) =>
    plan.pricing[model] ?? ctx.isolate.views.peek(ctx.now(), ctx.waitUntil)?.view.pricing?.[model];
  const metered = parts.map((part, i) => ({
    usage: meterUsage(part.tally, stream?.eventStream ?? false, request.profile.inputTokens),
    model: committed[i]?.model ?? committedModel,
  }));
  // Each continuation's part follows the part it continued: what it re-read is the resume's extra cost (§19).
  const resumed = result.trace.resumes?.filter((note) => note.result === "resumed") ?? [];
  for (const [i, note] of resumed.entries()) {
    const part = metered[i + 1];
    if (part) note.promptTokens = part.usage.promptTokens;
  }
  const { used, estimated } = answerUse(metered, pricingOf);
  if (request.key && reservation) ctx.isolate.keys.settle(request.key, reservation, used, ctx.waitUntil);
  const selected = result.kind === "committed" || result.kind === "upstream_answer" ? result.model : null;
  const report: OutcomeReport = {
    status: resultStatus(result),
    selected,
    attempts,
    stream,
    usage: metered.length > 0 ? { ...used, estimated } : null,
    routed: true,
    ...(result.trace.rollout ? { arm: result.trace.rollout } : {}),
    ...(result.trace.resumes && result.trace.resumes.length > 0 ? { resumes: result.trace.resumes } : {}),
  };
  result.trace.usage = report.usage;
  ctx.isolate.outcomes.enqueue(ctx.waitUntil, report, stickyWrite);
}

/**
 * Counts a request the router refused: before routing it (bad key, bad body), or, `routed`, in the pipeline
 * (a key's limits, nothing to route to), which has a record like every routed request (§17).
 */
export function settleRefusal(
  ctx: Pick<RoutingContext, "isolate" | "waitUntil">,
  status: number,
  routed = false,
): void {
  ctx.isolate.outcomes.enqueue(
    ctx.waitUntil,
    { status, selected: null, attempts: [], stream: null, usage: null, ...(routed ? { routed } : {}) },
    null,
  );
}
