// The one place that reads Worker vars and secrets: docs/contract.md §1, validated with valibot into a typed Config.
// A bad value never falls back to its default; the caller gets the variable's name and why it was refused.
import * as v from "valibot";
import type { BreakerOptions } from "./core/breaker.ts";
import type { SlowModelOptions } from "./core/model-health.ts";
import type { ModeOptions } from "./core/model-list.ts";
import { type ModelMapping, parseModelMap } from "./core/model-map.ts";
import type { ReadinessLimits } from "./core/readiness.ts";
import { RECORDING_LEVELS } from "./core/record.ts";
import { type OperatorPattern, parseOperatorPatterns } from "./core/redact.ts";

const BOOLEAN_WORDS: Record<string, boolean> = {
  true: true,
  "1": true,
  yes: true,
  on: true,
  false: false,
  "0": false,
  no: false,
  off: false,
};

/** A var given as a string (wrangler.toml, --var, dashboard) or as a TOML number, read as a finite number. */
const numeric = v.pipe(
  v.union([v.string(), v.number()], "must be a number"),
  v.transform((raw) => (typeof raw === "number" ? raw : raw.trim() === "" ? Number.NaN : Number(raw))),
  v.number("must be a number"),
  v.finite("must be a number"),
);

/** A whole number of at least `min` (counts, milliseconds, seconds). */
const numberText = (min: number) =>
  v.pipe(
    numeric,
    v.integer("must be an integer"),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(Number.MAX_SAFE_INTEGER, "is too large"),
  );

/** A number of at least `min` that may have a fraction (a factor). */
const decimalText = (min: number) => v.pipe(numeric, v.minValue(min, `must be at least ${min}`));

const booleanText = v.pipe(
  v.union([v.string(), v.boolean()], "must be true or false"),
  v.transform((raw) => (typeof raw === "boolean" ? raw : BOOLEAN_WORDS[raw.trim().toLowerCase()])),
  v.boolean("must be one of true/false/1/0/yes/no/on/off"),
);

const httpUrl = v.pipe(
  v.string("must be a URL"),
  v.trim(),
  v.check(isHttpUrl, "must be an absolute http(s) URL"),
);

function isHttpUrl(raw: string): boolean {
  return URL.canParse(raw) && /^https?:$/.test(new URL(raw).protocol);
}

const modelName = v.pipe(v.string("must be a model name"), v.trim(), v.nonEmpty("must not be empty"));

const commaList = v.pipe(
  v.string("must be a comma-separated list"),
  v.transform((raw) =>
    raw
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== ""),
  ),
);

const modelMap = v.pipe(
  v.string("must be a list of pattern=target pairs"),
  v.transform(parseModelMap),
  v.check(
    (mappings) => mappings !== null,
    "must be comma-separated pattern=target pairs, neither side empty",
  ),
  v.transform((mappings) => mappings ?? []),
);

const optionalSecret = v.optional(
  v.pipe(
    v.string("must be a string"),
    v.trim(),
    v.transform((raw) => (raw === "" ? undefined : raw)),
  ),
);

const redactPatterns = v.pipe(
  v.string("must be a JSON object of KIND: regex"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      return parseOperatorPatterns(dataset.value);
    } catch (error) {
      addIssue({ message: error instanceof Error ? error.message : "is not valid" });
      return NEVER;
    }
  }),
);

const ENV_SCHEMA = v.object({
  UPSTREAM_BASE_URL: v.optional(httpUrl, "https://llm.chutes.ai"),
  MODELS_URL: v.optional(httpUrl, "https://llm.chutes.ai/v1/models"),
  UTILIZATION_URL: v.optional(httpUrl, "https://api.chutes.ai/chutes/utilization"),
  ALIAS_MODEL: v.optional(modelName, "chutesai/AutoPilot"),
  TEE_ALIAS_MODEL: v.optional(modelName, "chutesai/AutoPilot-TEE"),
  CONTROL_PLANE_TIMEOUT_MS: v.optional(numberText(1), "10000"),
  UTILIZATION_REFRESH_MS: v.optional(numberText(0), "5000"),
  MODELS_REFRESH_MS: v.optional(numberText(0), "300000"),
  READYZ_MAX_SNAPSHOT_AGE_MS: v.optional(numberText(1), "20000"),
  READYZ_MAX_ALLOWLIST_AGE_MS: v.optional(numberText(1), "600000"),
  MAX_REQUEST_BYTES: v.optional(numberText(1), "33554432"),
  MAX_MODEL_LIST_ITEMS: v.optional(numberText(1), "8"),
  MAX_ATTEMPTS: v.optional(numberText(1), "5"),
  UPSTREAM_HEADER_TIMEOUT_MS: v.optional(numberText(1), "10000"),
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: v.optional(numberText(1), "120000"),
  UPSTREAM_IDLE_TIMEOUT_MS: v.optional(numberText(1), "60000"),
  STICKY_TTL_SECS: v.optional(numberText(0), "1800"),
  STICKY_MAX_ENTRIES: v.optional(numberText(1), "10000"),
  TRUST_PROXY_HEADERS: v.optional(booleanText, "false"),
  BREAKER_FAILURE_THRESHOLD: v.optional(numberText(1), "3"),
  BREAKER_COOLDOWN_MS: v.optional(numberText(0), "30000"),
  SLOW_MODEL_FACTOR: v.optional(decimalText(0), "4"),
  SLOW_MODEL_MIN_MS: v.optional(numberText(0), "2000"),
  HEDGE_AFTER_MS: v.optional(numberText(0), "0"),
  DIRECT_RETRY_BASE_MS: v.optional(numberText(1), "250"),
  DIRECT_RETRY_BUDGET_MS: v.optional(numberText(0), "8000"),
  RESUME_MAX: v.optional(numberText(0), "1"),
  RESUME_DEADLINE_MS: v.optional(numberText(1), "20000"),
  ANTHROPIC_MODEL_MAP: v.optional(modelMap, "claude-*=chutesai/AutoPilot"),
  ROUTER_API_KEYS: v.optional(commaList, ""),
  UPSTREAM_API_KEY: optionalSecret,
  ADMIN_API_KEY: optionalSecret,
  AGGREGATOR_FORWARD_MS: v.optional(numberText(0), "1000"),
  STICKY_SHARDS: v.optional(v.pipe(numberText(1), v.maxValue(4096, "must be at most 4096")), "64"),
  RECORDING: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.toLowerCase(),
      v.picklist(RECORDING_LEVELS, "must be off, metadata, redacted or full"),
    ),
    "metadata",
  ),
  RECORDING_RETENTION_DAYS: v.optional(numberText(1), "30"),
  RECORDING_REDACT_IPS: v.optional(booleanText, "false"),
  RECORDING_REDACT_PATTERNS: v.optional(redactPatterns, ""),
  RECORDING_REDACTION_KEY: optionalSecret,
  ROLLOUT_WEBHOOK_URL: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.check((raw) => raw === "" || isHttpUrl(raw), "must be an absolute http(s) URL"),
    ),
    "",
  ),
});

type ParsedEnv = v.InferOutput<typeof ENV_SCHEMA>;

/**
 * The router's settings, grouped by the code that reads them, with units in the names. Declared once, here:
 * the type is what this function returns, and each group has the shape its core module takes.
 */
function toConfig(out: ParsedEnv) {
  return {
    feeds: {
      modelsUrl: out.MODELS_URL,
      utilizationUrl: out.UTILIZATION_URL,
      timeoutMs: out.CONTROL_PLANE_TIMEOUT_MS,
      utilizationRefreshMs: out.UTILIZATION_REFRESH_MS,
      modelsRefreshMs: out.MODELS_REFRESH_MS,
    },
    readiness: {
      maxSnapshotAgeMs: out.READYZ_MAX_SNAPSHOT_AGE_MS,
      maxAllowlistAgeMs: out.READYZ_MAX_ALLOWLIST_AGE_MS,
    } satisfies ReadinessLimits,
    modes: {
      aliasModel: out.ALIAS_MODEL,
      teeAliasModel: out.TEE_ALIAS_MODEL,
      maxModelListItems: out.MAX_MODEL_LIST_ITEMS,
    } satisfies ModeOptions,
    upstream: {
      baseUrl: out.UPSTREAM_BASE_URL.replace(/\/+$/, ""),
      maxRequestBytes: out.MAX_REQUEST_BYTES,
      maxAttempts: out.MAX_ATTEMPTS,
      headerTimeoutMs: out.UPSTREAM_HEADER_TIMEOUT_MS,
      firstByteTimeoutMs: out.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      idleTimeoutMs: out.UPSTREAM_IDLE_TIMEOUT_MS,
    },
    sticky: {
      shards: out.STICKY_SHARDS,
      ttlSeconds: out.STICKY_TTL_SECS,
      maxEntries: out.STICKY_MAX_ENTRIES,
      trustProxyHeaders: out.TRUST_PROXY_HEADERS,
    },
    breaker: {
      failureThreshold: out.BREAKER_FAILURE_THRESHOLD,
      cooldownMs: out.BREAKER_COOLDOWN_MS,
    } satisfies BreakerOptions,
    /** Degraded models (docs/contract.md §13); one is rechecked after the breaker cooldown. */
    slowModel: {
      factor: out.SLOW_MODEL_FACTOR,
      minMs: out.SLOW_MODEL_MIN_MS,
      recheckAfterMs: out.BREAKER_COOLDOWN_MS,
    } satisfies SlowModelOptions,
    /** The per-location fan-in and fan-out tier (research/SCALE.md); 0 passes every call straight through. */
    aggregator: { forwardMs: out.AGGREGATOR_FORWARD_MS },
    /** Hedged first byte (docs/contract.md §13); 0 is off. */
    hedge: { afterMs: out.HEDGE_AFTER_MS },
    /** Direct mode's retries of its one model (docs/contract.md §19); a budget of 0 is off. */
    directRetry: { baseMs: out.DIRECT_RETRY_BASE_MS, budgetMs: out.DIRECT_RETRY_BUDGET_MS },
    /** Resuming a stream that broke after commit (docs/contract.md §19); 0 resumes is off. */
    resume: { max: out.RESUME_MAX, deadlineMs: out.RESUME_DEADLINE_MS },
    /** The Anthropic Messages ingress (docs/contract.md §14). */
    anthropic: { modelMap: out.ANTHROPIC_MODEL_MAP as readonly ModelMapping[] },
    /** Rollouts (docs/contract.md §18): where abort and promotion events are posted; null: nowhere. */
    rollouts: { webhookUrl: out.ROLLOUT_WEBHOOK_URL === "" ? null : out.ROLLOUT_WEBHOOK_URL },
    /** Recording (docs/contract.md §17). */
    recording: {
      level: out.RECORDING,
      retentionDays: out.RECORDING_RETENTION_DAYS,
      redact: {
        ips: out.RECORDING_REDACT_IPS,
        patterns: out.RECORDING_REDACT_PATTERNS as readonly OperatorPattern[],
      },
      /** The HMAC key redaction tokens are made with; without it nothing can be recorded `redacted`. */
      redactionKey: out.RECORDING_REDACTION_KEY ?? null,
    },
    auth: {
      /** Static client keys without limits (docs/contract.md §6). */
      routerApiKeys: out.ROUTER_API_KEYS as readonly string[],
      upstreamApiKey: out.UPSTREAM_API_KEY,
      /** Opens /admin/* and the operator pages, and turns on managed keys (docs/contract.md §15). */
      adminApiKey: out.ADMIN_API_KEY ?? null,
      /** Clients need a key of the router's and upstream gets UPSTREAM_API_KEY: either kind of key is set. */
      managed: out.ROUTER_API_KEYS.length > 0 || out.ADMIN_API_KEY !== undefined,
    },
  };
}

export type Config = ReturnType<typeof toConfig>;

/** A variable that was refused. The message never repeats the value (it may be a secret). */
export interface ConfigIssue {
  variable: string;
  message: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] };

const cache = new WeakMap<object, ConfigResult>();

/** Parses the Worker's env once per env object (isolates reuse it across requests). */
export function readConfig(env: object): ConfigResult {
  let result = cache.get(env);
  if (!result) {
    result = parseConfig(env as Record<string, unknown>);
    cache.set(env, result);
  }
  return result;
}

/** Validates every docs/contract.md §1 variable; unknown variables and bindings are ignored. */
export function parseConfig(env: Record<string, unknown>): ConfigResult {
  const parsed = v.safeParse(ENV_SCHEMA, env);
  if (!parsed.success) {
    const issues = parsed.issues.map((issue) => ({
      variable: String(issue.path?.[0]?.key ?? "env"),
      message: issue.message,
    }));
    return { ok: false, issues: dedupeByVariable(issues) };
  }
  const out = parsed.output;
  if (
    (out.ROUTER_API_KEYS.length > 0 || out.ADMIN_API_KEY !== undefined) &&
    out.UPSTREAM_API_KEY === undefined
  ) {
    return {
      ok: false,
      issues: [
        { variable: "UPSTREAM_API_KEY", message: "must be set when ROUTER_API_KEYS or ADMIN_API_KEY is set" },
      ],
    };
  }
  if (out.RECORDING === "redacted" && out.RECORDING_REDACTION_KEY === undefined) {
    return {
      ok: false,
      issues: [{ variable: "RECORDING_REDACTION_KEY", message: "must be set when RECORDING is redacted" }],
    };
  }
  return { ok: true, config: toConfig(out) };
}

function dedupeByVariable(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => !seen.has(issue.variable) && seen.add(issue.variable));
}
