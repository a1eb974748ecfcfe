// Stage 2, plan: which models this request will try, in order, and what to ask each for (docs/contract.md
// §3–§5, §16). Reads the isolate's cached view and sticky cache; direct mode never waits on a Durable Object,
// alias waits only when its isolate has no view yet, and alias and list wait on a sticky shard only on a local
// sticky-cache miss. In alias and list modes, models the request does not fit are left out. A rollout on the
// requested model (§18) first decides, by the request's session, which model it is routed as.
import { type CandidatePlanInput, modeModels, planCandidates, probeCandidates } from "../core/candidates.ts";
import { type LearnedLimit, UNKNOWN_CAPABILITIES, withLimit } from "../core/capabilities.ts";
import type { Failure } from "../core/failure.ts";
import { type CapabilityLookup, nothingFits, planFit } from "../core/fit-plan.ts";
import { findUnknownModels, type RoutingMode, resolveMode } from "../core/model-list.ts";
import { armFor, routeFor, sessionTag } from "../core/rollout.ts";
import { feedAgeMs, type RoutingView } from "../core/snapshot.ts";
import type { ModelPricing } from "../core/spend.ts";
import { stickyKey, stickySource } from "../core/sticky-key.ts";
import type { CachedView } from "../isolate/view-cache.ts";
import type { RoutingContext } from "./routing-context.ts";
import type { RoutingRequest, RoutingTrace } from "./routing-request.ts";

export interface RoutePlan {
  mode: RoutingMode;
  candidates: string[];
  /** Candidates this request probes: half-open breakers and degraded models due for a recheck. */
  probes: string[];
  stickyKey: string | null;
  stickyModel: string | null;
  /** The models' prices from the view this plan read (empty without one). */
  pricing: Record<string, ModelPricing>;
  /** The output to ask each candidate for, where the request's must be lowered to fit it (§16). */
  maxTokens: Record<string, number>;
  /** Each model's capabilities as this plan saw them: the feed's, with what the fleet and isolate learned. */
  capabilitiesOf: CapabilityLookup;
  /** The mode's models the request does not fit, and why. */
  misfits: ReturnType<typeof planFit>["misfits"];
}

export type PlanResult = { ok: true; plan: RoutePlan } | { ok: false; failure: Failure };

/** Plans the request, filling `trace` (mode, candidate count, snapshot age) as it learns them. */
export async function planRoute(
  ctx: RoutingContext,
  request: RoutingRequest,
  trace: RoutingTrace,
): Promise<PlanResult> {
  const { config, isolate, startedMs } = ctx;
  const model = await rolloutArm(ctx, request, trace);
  const modeResult = resolveMode(model, config.modes);
  if (!modeResult.ok)
    return { ok: false, failure: { kind: "invalid_model_list", message: modeResult.message } };
  const mode = modeResult.mode;
  trace.mode = mode.kind;

  // Alias needs the ranking, so an isolate without any view waits for one; list and direct route without
  // one (no allowlist check, no breaker order) and load it behind, so they never wait on the object, unless
  // a managed key's request needs the prices to be charged.
  const needsPrices = request.key != null;
  const cached: CachedView | null =
    mode.kind === "alias" || needsPrices
      ? await isolate.views.loadForRequest(startedMs, ctx.waitUntil)
      : isolate.views.peek(startedMs, ctx.waitUntil);
  const requestedModels = mode.kind === "list" ? mode.models : mode.kind === "direct" ? [mode.model] : [];
  const unknown = cached ? findUnknownModels(requestedModels, cached.allowlist) : [];
  if (unknown.length > 0) return { ok: false, failure: { kind: "unknown_model", models: unknown } };

  const capabilitiesOf = capabilityLookup(cached?.view ?? null, isolate.limits, startedMs);
  const models = modeModels(mode, cached?.view.candidates ?? []);
  const fit = planFit(models, capabilitiesOf, request.profile, mode.kind !== "direct");
  if (fit.kept.length === 0 && fit.misfits.length > 0) {
    trace.snapshotAgeMs = cached ? feedAgeMs(cached.view.utilization, startedMs) : null;
    return { ok: false, failure: nothingFits(fit.misfits, request.profile, model) };
  }

  const key = await stickyKeyOf(ctx, request, mode);
  const stickyModel = key ? await isolate.sticky.lookup(key, startedMs) : null;
  const planInput: CandidatePlanInput = {
    models: fit.kept,
    unknownFit: fit.unknown,
    breakers: cached?.view.breakers ?? {},
    breakerOptions: config.breaker,
    health: cached?.view.health ?? {},
    slowOptions: config.slowModel,
    probing: isolate.probes.probing(),
    stickyModel,
    maxAttempts: config.upstream.maxAttempts,
    nowMs: startedMs,
  };
  const candidates = planCandidates(planInput);
  trace.candidates = candidates.length;
  trace.snapshotAgeMs = cached ? feedAgeMs(cached.view.utilization, startedMs) : null;
  if (candidates.length === 0) return { ok: false, failure: { kind: "no_candidates" } };
  const probes = probeCandidates(planInput, candidates);
  const pricing = cached?.view.pricing ?? {};
  return {
    ok: true,
    plan: {
      mode,
      candidates,
      probes,
      stickyKey: key,
      stickyModel,
      pricing,
      maxTokens: fit.maxTokens,
      capabilitiesOf,
      misfits: fit.misfits,
    },
  };
}

/**
 * Each model's capabilities from the view's models feed, narrowed by what refusals taught the fleet (in the
 * view) and this isolate (at once, before its report reaches the fleet). Undefined for a model nobody knows.
 */
export function capabilityLookup(
  view: RoutingView | null,
  isolateLimits: Readonly<Record<string, LearnedLimit>>,
  nowMs: number,
): CapabilityLookup {
  return (model) => {
    const feed = view?.capabilities?.[model];
    const fleet = view?.limits?.[model];
    const local = isolateLimits[model];
    if (!feed && !fleet && !local) return undefined;
    return withLimit(withLimit(feed ?? UNKNOWN_CAPABILITIES, fleet, nowMs), local, nowMs);
  };
}

/**
 * The model this request is routed as (docs/contract.md §18): the client's, or what a promoted rollout made of
 * it, or a running rollout's candidate when the request's session is in its candidate arm. The rollouts come
 * with the cached view, so this asks no object; an isolate without a view yet loads one for an alias (which
 * waits for one anyway) and routes a model or a list as the client asked.
 */
async function rolloutArm(
  ctx: RoutingContext,
  request: RoutingRequest,
  trace: RoutingTrace,
): Promise<string> {
  const { aliasModel, teeAliasModel } = ctx.config.modes;
  let cached = ctx.isolate.views.peek(ctx.startedMs, ctx.waitUntil);
  if (!cached && (request.model === aliasModel || request.model === teeAliasModel))
    cached = await ctx.isolate.views.loadForRequest(ctx.startedMs, ctx.waitUntil);
  const routes = cached?.view.rollouts;
  const { base, live: rollout } = routeFor(routes, request.model);
  if (!rollout) return base;
  const session = await sessionKeyOf(ctx, request);
  const arm = armFor(rollout, session);
  trace.rollout = { rollout: rollout.id, arm, session: session === null ? null : sessionTag(session) };
  return arm === "candidate" ? rollout.candidate : base;
}

/** The client's sticky key (alias and list modes only), with a token hashed so it is never kept raw. */
async function stickyKeyOf(
  ctx: RoutingContext,
  request: RoutingRequest,
  mode: RoutingMode,
): Promise<string | null> {
  if (mode.kind === "direct" || ctx.config.sticky.ttlSeconds === 0) return null;
  return sessionKeyOf(ctx, request);
}

/** The key that tells the client's session apart (§5), in any mode: what stickiness and rollouts go by. */
async function sessionKeyOf(ctx: RoutingContext, request: RoutingRequest): Promise<string | null> {
  const source = stickySource(request.identity, ctx.config.sticky.trustProxyHeaders);
  if (!source) return null;
  if (source.kind !== "auth") return stickyKey(source, null);
  return stickyKey(source, await ctx.isolate.hashes.of(source.token));
}
