// Stage 3, execute: the upstream attempts, in plan order, until one commits or the failover table says stop
// (docs/contract.md §7), hedged in alias and list modes when HEDGE_AFTER_MS is set (§13, never in direct
// mode: there is no other model; direct mode retries its one model with backoff instead, §19). Each attempt
// asks for the output that fits its model (§16). An engine's refusal moves an alias or list request on to the
// next candidate that still fits once the engine has counted the prompt, and what it showed about the model is
// learned at once by this isolate (and by the fleet through the outcome report); in direct mode it goes back
// to the client. Holds this isolate's claim on the models it probes until it decides.
import { LEARNED_LIMIT_TTL_MS, mergeLimitMaps } from "../core/capabilities.ts";
import { directRetryDelay, parseRetryAfter } from "../core/direct-retry.ts";
import type { EngineRefusal } from "../core/engine-refusal.ts";
import { judgeFit, type Misfit } from "../core/fit.ts";
import { nothingFits } from "../core/fit-plan.ts";
import type { AttemptRecord, LimitFacts } from "../core/outcome.ts";
import { limitShownBy, misfitShownBy, profileAfter } from "../core/refusal-lessons.ts";
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
  const { upstream } = ctx.config;
  const fit = createFitTracker(ctx, request, plan);
  const releaseProbes = ctx.isolate.probes.claim(plan.probes);
  try {
    const run = () =>
      runFailover({
        candidates: plan.candidates,
        url: `${upstream.baseUrl}${request.upstreamPath}`,
        headers: upstreamHeaders(ctx, request),
        bodyFor: (model) => upstreamBody(request.bodyFor(model, fit.maxTokens[model] ?? null)),
        fits: (model) => !fit.ruledOut.has(model),
        maxTokensFor: (model) => fit.maxTokens[model],
        onRefusal: fit.onRefusal,
        nothingFits: fit.nothingFits,
        headerTimeoutMs: upstream.headerTimeoutMs,
        firstByteTimeoutMs: upstream.firstByteTimeoutMs,
        hedgeAfterMs: plan.mode.kind === "direct" ? 0 : ctx.config.hedge.afterMs,
        nowMs: ctx.now,
        clientSignal: request.clientSignal,
      });
    return plan.mode.kind === "direct" ? await retryDirect(ctx, request, run) : await run();
  } finally {
    releaseProbes();
  }
}

/**
 * Direct mode's one model, tried again after a retryable failure before commit (docs/contract.md §19) with
 * jittered backoff (core/direct-retry.ts), while the attempts and the wait stay within their limits; the last
 * result is the answer when they run out. Every attempt is in the result's list, in order.
 */
async function retryDirect(
  ctx: RoutingContext,
  request: RoutingRequest,
  run: () => Promise<FailoverResult>,
): Promise<FailoverResult> {
  const startedMs = ctx.now();
  const attempts: AttemptRecord[] = [];
  const options = { ...ctx.config.directRetry, maxAttempts: ctx.config.upstream.maxAttempts };
  for (;;) {
    const result = await run();
    attempts.push(...result.attempts);
    if (result.kind === "committed" || result.attempts.at(-1)?.outcome !== "retryable")
      return { ...result, attempts };
    const answer = result.kind === "upstream_answer" ? result.response : null;
    const retryAfterMs = parseRetryAfter(answer?.headers.get("retry-after") ?? null, ctx.now());
    const state = { attempts: attempts.length, elapsedMs: ctx.now() - startedMs, retryAfterMs };
    const delay = directRetryDelay(state, options);
    if (delay === null) return { ...result, attempts };
    answer?.body?.cancel().catch(() => {});
    if (!(await sleepUnlessAborted(delay, request.clientSignal)))
      return { kind: "failure", failure: { kind: "client_cancel" }, attempts };
  }
}

/** Waits `ms`; false when the client went away first. */
function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The upstream request headers from the client's (docs/contract.md §6). */
export function upstreamHeaders(ctx: RoutingContext, request: RoutingRequest): Record<string, string> {
  const key = isManaged(ctx) ? ctx.config.auth.upstreamApiKey : undefined;
  return buildUpstreamHeaders(request.clientHeaders, key, request.traceparent);
}

/** Below this many characters a body is sent as one string, which costs less than a Blob to make. */
const BLOB_FROM_CHARS = 64 * 1024;

/**
 * An attempt's body from its parts: a large one as a Blob, which the runtime writes from the parts without a
 * copy of the whole in the JavaScript heap (docs/contract.md §16).
 */
export function upstreamBody(parts: string[]): BodyInit {
  let chars = 0;
  for (const part of parts) chars += part.length;
  return chars < BLOB_FROM_CHARS ? parts.join("") : new Blob(parts);
}

/**
 * What one request knows of its fit while its attempts run: the output to ask each candidate for, the
 * candidates ruled out since the plan, and how to take an engine's refusal.
 */
function createFitTracker(ctx: RoutingContext, request: RoutingRequest, plan: RoutePlan) {
  const movesOn = plan.mode.kind !== "direct";
  const maxTokens: Record<string, number> = { ...plan.maxTokens };
  const ruledOut = new Set<string>();
  const refused: Array<{ model: string; misfit: Misfit }> = [];
  let profile = request.profile;

  /** Judges the candidates not yet ruled out again, with what the request now knows. */
  const rejudge = () => {
    for (const model of plan.candidates) {
      if (ruledOut.has(model)) continue;
      const verdict = judgeFit(plan.capabilitiesOf(model), profile);
      if (verdict.kind === "misfit") {
        ruledOut.add(model);
        refused.push({ model, misfit: verdict.misfit });
      } else if (verdict.maxTokens !== null) maxTokens[model] = verdict.maxTokens;
      else delete maxTokens[model];
    }
  };

  const onRefusal = (
    model: string,
    refusal: EngineRefusal,
  ): { moveOn: boolean; learned: LimitFacts | null } => {
    const capabilities = plan.capabilitiesOf(model);
    const sentOutput = maxTokens[model] ?? profile.requestedOutputTokens;
    const learned = limitShownBy(refusal, capabilities, sentOutput);
    if (learned) {
      const limit = { ...learned, untilMs: ctx.now() + LEARNED_LIMIT_TTL_MS };
      mergeLimitMaps(ctx.isolate.limits, { [model]: limit }, ctx.now());
    }
    profile = profileAfter(refusal, profile);
    ruledOut.add(model);
    refused.push({ model, misfit: misfitShownBy(refusal, capabilities, profile) });
    if (movesOn) rejudge();
    return { moveOn: movesOn, learned };
  };

  return {
    maxTokens,
    ruledOut,
    onRefusal,
    nothingFits: () => nothingFits([...plan.misfits, ...refused], profile, request.model),
  };
}
