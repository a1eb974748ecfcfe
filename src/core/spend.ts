// What an answer cost (docs/contract.md §15, managed keys): the upstream's token usage times the model's
// pricing from the models feed, which Chutes gives in USD per million tokens (`pricing.prompt`,
// `pricing.completion`, `pricing.input_cache_read`). Cached prompt tokens are priced at the cache-read rate
// when the model has one, else as prompt tokens.

export interface ModelPricing {
  promptUsdPerMillion: number;
  completionUsdPerMillion: number;
  cacheReadUsdPerMillion: number | null;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the upstream's prompt cache (part of promptTokens). */
  cachedTokens: number;
}

/** A models-feed entry's pricing; null when it has none a spend can be computed from. */
export function pricingOf(model: unknown): ModelPricing | null {
  if (!isObject(model) || !isObject(model.pricing)) return null;
  const { prompt, completion, input_cache_read: cacheRead } = model.pricing;
  if (!isPrice(prompt) || !isPrice(completion)) return null;
  return {
    promptUsdPerMillion: prompt,
    completionUsdPerMillion: completion,
    cacheReadUsdPerMillion: isPrice(cacheRead) ? cacheRead : null,
  };
}

/** An OpenAI `usage` object as token counts; null when it has no usable counts. */
export function usageOf(usage: unknown): TokenUsage | null {
  if (!isObject(usage)) return null;
  const promptTokens = count(usage.prompt_tokens);
  const completionTokens = count(usage.completion_tokens);
  if (promptTokens === null && completionTokens === null) return null;
  const details = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const prompt = promptTokens ?? 0;
  return {
    promptTokens: prompt,
    completionTokens: completionTokens ?? 0,
    cachedTokens: Math.min(prompt, count(details.cached_tokens) ?? 0),
  };
}

/** The USD an answer cost. */
export function spendUsd(usage: TokenUsage, pricing: ModelPricing): number {
  const cacheRate = pricing.cacheReadUsdPerMillion ?? pricing.promptUsdPerMillion;
  const uncached = usage.promptTokens - usage.cachedTokens;
  return (
    (uncached * pricing.promptUsdPerMillion +
      usage.cachedTokens * cacheRate +
      usage.completionTokens * pricing.completionUsdPerMillion) /
    1_000_000
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPrice(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function count(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}
