// Metering a managed key's request (docs/contract.md §15), between plan and execute and again at settle:
// before any upstream attempt the request reserves what it is expected to use from its key's lease (a
// request, a concurrency slot, tokens, dollars at the dearest candidate's prices), and when its answer ends
// the reservation is settled to what the upstream's usage says it cost, or, without usage, to what the
// client received.
import type { Failure } from "../core/failure.ts";
import type { ActualUse, Reservation } from "../core/key-lease.ts";
import type { LeaseNeed } from "../core/key-ledger.ts";
import { type ModelPricing, spendUsd } from "../core/spend.ts";
import type { MeteredUsage } from "../core/usage-meter.ts";
import type { RoutePlan } from "./plan.ts";
import type { RoutingContext } from "./routing-context.ts";
import type { RoutingRequest, RoutingTrace, UsageEstimate } from "./routing-request.ts";

export type MeterResult = { ok: true; reservation: Reservation | null } | { ok: false; failure: Failure };

/** Reserves the request's needs from its key's lease; a request without a managed key reserves nothing. */
export async function reserveForRequest(
  ctx: RoutingContext,
  request: RoutingRequest,
  plan: RoutePlan,
  trace: RoutingTrace,
): Promise<MeterResult> {
  const key = request.key;
  if (!key) return { ok: true, reservation: null };
  const need = needOf(usageEstimate(request, plan), plan);
  const reserved = await ctx.isolate.keys.reserve(key, need, ctx.now(), ctx.waitUntil);
  trace.keyLedgerWaited = !reserved.ok || reserved.cold;
  if (reserved.ok) return { ok: true, reservation: reserved.reservation };
  const nowMs = ctx.now();
  switch (reserved.refusal) {
    case "unavailable":
      return { ok: false, failure: { kind: "keys_unavailable" } };
    case "inactive":
      return { ok: false, failure: { kind: "invalid_api_key", challenge: "none" } };
    case "budget":
      return {
        ok: false,
        failure: {
          kind: "budget_exceeded",
          budgetUsd: key.limits.budgetUsd ?? 0,
          period: key.limits.budgetPeriod,
          resetsAtMs: reserved.rate.periodEndMs,
        },
      };
    case "requests":
    case "tokens":
    case "concurrency":
      return {
        ok: false,
        failure: {
          kind: "rate_limit_exceeded",
          limit: reserved.refusal,
          retryAfterMs: reserved.retryAfterMs ?? 1000,
          rate: reserved.rate,
          nowMs,
        },
      };
  }
}

/** What a request needs: its estimated tokens, priced at the dearest of its candidates. */
export function needOf(estimate: UsageEstimate, plan: Pick<RoutePlan, "candidates" | "pricing">): LeaseNeed {
  let promptRate = 0;
  let completionRate = 0;
  for (const model of plan.candidates) {
    const price = plan.pricing[model];
    if (!price) continue;
    promptRate = Math.max(promptRate, price.promptUsdPerMillion);
    completionRate = Math.max(completionRate, price.completionUsdPerMillion);
  }
  return {
    tokens: estimate.promptTokens + estimate.completionTokens,
    usd: (estimate.promptTokens * promptRate + estimate.completionTokens * completionRate) / 1_000_000,
  };
}

/** What an answer cost: its usage at its model's price (nothing when the model has no price). */
export function actualUse(usage: MeteredUsage | null, pricing: ModelPricing | undefined): ActualUse {
  if (!usage) return { promptTokens: 0, completionTokens: 0, usd: 0 };
  return {
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    usd: pricing ? spendUsd(usage, pricing) : 0,
  };
}

/**
 * What an answer of one or more parts cost: each part's usage at its own model's price, summed (a part that
 * continued another re-sent the prompt, and was charged for it). `estimated` when any part's usage was.
 */
export function answerUse(
  parts: ReadonlyArray<{ usage: MeteredUsage; model: string | null }>,
  pricingOf: (model: string) => ModelPricing | undefined,
): { used: ActualUse; estimated: boolean } {
  const used: ActualUse = { promptTokens: 0, completionTokens: 0, usd: 0 };
  let estimated = false;
  for (const part of parts) {
    const use = actualUse(part.usage, part.model === null ? undefined : pricingOf(part.model));
    used.promptTokens += use.promptTokens;
    used.completionTokens += use.completionTokens;
    used.usd += use.usd;
    estimated ||= part.usage.estimated;
  }
  return { used, estimated };
}

/** How many tokens a request reserves for its answer when it sets no limit of its own. */
export const DEFAULT_COMPLETION_RESERVE = 1000;

/**
 * What a request is expected to use: its estimated prompt, and the most output any of its candidates will be
 * asked for (its own limit, lowered per model where the model cannot give it; the default when it set none).
 */
export function usageEstimate(
  request: Pick<RoutingRequest, "profile">,
  plan: Pick<RoutePlan, "candidates" | "maxTokens">,
): UsageEstimate {
  const requested = request.profile.requestedOutputTokens ?? DEFAULT_COMPLETION_RESERVE;
  const asked = plan.candidates.map((model) => plan.maxTokens[model] ?? requested);
  return {
    promptTokens: request.profile.inputTokens,
    completionTokens: asked.length > 0 ? Math.max(...asked) : requested,
  };
}
