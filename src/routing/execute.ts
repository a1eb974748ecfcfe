// Stage 3, execute: the upstream attempts, in plan order, until one commits or the failover table says stop
// (docs/contract.md §7). Holds this isolate's claim on half-open models for as long as it decides.

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
  const releaseProbes = ctx.isolate.probes.claim(plan.halfOpen);
  try {
    return await runFailover({
      candidates: plan.candidates,
      url: `${upstream.baseUrl}${request.upstreamPath}`,
      headers: buildUpstreamHeaders(request.clientHeaders, isManaged(ctx) ? auth.upstreamApiKey : undefined),
      bodyFor: request.bodyFor,
      headerTimeoutMs: upstream.headerTimeoutMs,
      firstByteTimeoutMs: upstream.firstByteTimeoutMs,
      nowMs: ctx.now,
      clientSignal: request.clientSignal,
    });
  } finally {
    releaseProbes();
  }
}
