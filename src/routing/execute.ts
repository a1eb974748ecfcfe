// Stage 3, execute: the upstream attempts, in plan order, until one commits or the failover table says stop
// (docs/contract.md §7), hedged in alias and list modes when HEDGE_AFTER_MS is set (§13, never in direct
// mode: there is no other model). Holds this isolate's claim on the models it probes until it decides.

import { type FailoverResult, runFailover } from "../upstream/failover.ts";
import { buildUpstreamHeaders } from "../upstream/headers.ts";
import { isManaged } from "./admit.ts";
import type { RoutePlan } from "./plan.ts";
import type { RoutingContext } from "./routing-context.ts";
import type { RoutingRequest } from "./routing-request.ts";

export async function executePlan(
  ctx: RoutingContext,
  request: RoutingRequest,
  plan: RoutePlan,
): Promise<FailoverResult> {
  const { upstream, auth } = ctx.config;
  const releaseProbes = ctx.isolate.probes.claim(plan.probes);
  try {
    return await runFailover({
      candidates: plan.candidates,
      url: `${upstream.baseUrl}${request.upstreamPath}`,
      headers: buildUpstreamHeaders(request.clientHeaders, isManaged(ctx) ? auth.upstreamApiKey : undefined),
      bodyFor: request.bodyFor,
      headerTimeoutMs: upstream.headerTimeoutMs,
      firstByteTimeoutMs: upstream.firstByteTimeoutMs,
      hedgeAfterMs: plan.mode.kind === "direct" ? 0 : ctx.config.hedge.afterMs,
      nowMs: ctx.now,
      clientSignal: request.clientSignal,
    });
  } finally {
    releaseProbes();
  }
}
