import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.ts";

function issuesOf(env: Record<string, unknown>) {
  const result = parseConfig(env);
  return result.ok ? [] : result.issues;
}

describe("parseConfig", () => {
  it("applies every docs/contract.md §1 default when nothing is set", () => {
    const result = parseConfig({});
    expect(result).toEqual({
      ok: true,
      config: {
        feeds: {
          modelsUrl: "https://llm.chutes.ai/v1/models",
          utilizationUrl: "https://api.chutes.ai/chutes/utilization",
          timeoutMs: 10_000,
          utilizationRefreshMs: 5000,
          modelsRefreshMs: 300_000,
        },
        readiness: { maxSnapshotAgeMs: 20_000, maxAllowlistAgeMs: 600_000 },
        modes: {
          aliasModel: "chutesai/AutoPilot",
          teeAliasModel: "chutesai/AutoPilot-TEE",
          maxModelListItems: 8,
        },
        upstream: {
          baseUrl: "https://llm.chutes.ai",
          maxRequestBytes: 33_554_432,
          maxAttempts: 5,
          headerTimeoutMs: 10_000,
          firstByteTimeoutMs: 120_000,
          idleTimeoutMs: 60_000,
        },
        sticky: { shards: 64, ttlSeconds: 1800, maxEntries: 10_000, trustProxyHeaders: false },
        breaker: { failureThreshold: 3, cooldownMs: 30_000 },
        slowModel: { factor: 4, minMs: 2000, recheckAfterMs: 30_000 },
        aggregator: { forwardMs: 1000 },
        hedge: { afterMs: 0 },
        directRetry: { baseMs: 250, budgetMs: 8000 },
        resume: { max: 1, deadlineMs: 20_000 },
        anthropic: { modelMap: [{ pattern: "claude-*", target: "chutesai/AutoPilot" }] },
        rollouts: { webhookUrl: null },
        recording: {
          level: "metadata",
          retentionDays: 30,
          redact: { ips: false, patterns: [] },
          redactionKey: null,
        },
        auth: { routerApiKeys: [], upstreamApiKey: undefined, adminApiKey: null, managed: false },
      },
    });
  });

  it("reads the recording settings, and refuses a level, a pattern or a missing key it cannot use", () => {
    const result = parseConfig({
      RECORDING: " Redacted ",
      RECORDING_REDACTION_KEY: "k",
      RECORDING_RETENTION_DAYS: "7",
      RECORDING_REDACT_IPS: "on",
      RECORDING_REDACT_PATTERNS: '{"EMPLOYEE_ID":"EMP-[0-9]{6}"}',
    });
    expect(result.ok && result.config.recording).toMatchObject({
      level: "redacted",
      retentionDays: 7,
      redact: { ips: true, patterns: [{ kind: "EMPLOYEE_ID" }] },
      redactionKey: "k",
    });
    const refused = (env: Record<string, unknown>) => {
      const parsed = parseConfig(env);
      return parsed.ok ? [] : parsed.issues.map((issue) => issue.variable);
    };
    expect(refused({ RECORDING: "everything" })).toEqual(["RECORDING"]);
    expect(refused({ RECORDING: "redacted" })).toEqual(["RECORDING_REDACTION_KEY"]);
    expect(refused({ RECORDING_REDACT_PATTERNS: '{"bad kind":"x"}' })).toEqual(["RECORDING_REDACT_PATTERNS"]);
    expect(refused({ RECORDING_REDACT_PATTERNS: '{"KIND":"("}' })).toEqual(["RECORDING_REDACT_PATTERNS"]);
    expect(refused({ RECORDING_RETENTION_DAYS: "0" })).toEqual(["RECORDING_RETENTION_DAYS"]);
  });

  it("reads numbers given as strings or as TOML numbers", () => {
    const result = parseConfig({ MAX_ATTEMPTS: " 7 ", STICKY_TTL_SECS: 0, UTILIZATION_REFRESH_MS: "0" });
    expect(
      result.ok && [
        result.config.upstream.maxAttempts,
        result.config.sticky.ttlSeconds,
        result.config.feeds.utilizationRefreshMs,
      ],
    ).toEqual([7, 0, 0]);
  });

  it.each([
    ["MAX_ATTEMPTS", "five", "must be a number"],
    ["MAX_ATTEMPTS", "", "must be a number"],
    ["MAX_ATTEMPTS", "2.5", "must be an integer"],
    ["MAX_ATTEMPTS", "0", "must be at least 1"],
    ["STICKY_TTL_SECS", "-1", "must be at least 0"],
    ["UPSTREAM_HEADER_TIMEOUT_MS", "1e400", "must be a number"],
    ["MAX_REQUEST_BYTES", true, "must be a number"],
    ["SLOW_MODEL_FACTOR", "-1", "must be at least 0"],
    ["SLOW_MODEL_FACTOR", "fast", "must be a number"],
    ["SLOW_MODEL_MIN_MS", "1.5", "must be an integer"],
    ["HEDGE_AFTER_MS", "-5", "must be at least 0"],
    ["ANTHROPIC_MODEL_MAP", "claude-*", "pattern=target"],
  ])("refuses %s=%j (%s) instead of using the default", (variable, value, message) => {
    expect(issuesOf({ [variable]: value })).toEqual([
      { variable, message: expect.stringContaining(message) },
    ]);
  });

  it("reads a fractional SLOW_MODEL_FACTOR, and 0 for the settings that turn a feature off", () => {
    const result = parseConfig({ SLOW_MODEL_FACTOR: "2.5", SLOW_MODEL_MIN_MS: "0", HEDGE_AFTER_MS: "0" });
    expect(result.ok && [result.config.slowModel.factor, result.config.slowModel.minMs]).toEqual([2.5, 0]);
    expect(result.ok && result.config.hedge.afterMs).toBe(0);
  });

  it.each([
    ["true", true],
    ["1", true],
    ["YES", true],
    ["on", true],
    ["false", false],
    ["0", false],
    ["no", false],
    [" Off ", false],
    [true, true],
  ])("reads TRUST_PROXY_HEADERS=%j as %s", (value, expected) => {
    const result = parseConfig({ TRUST_PROXY_HEADERS: value });
    expect(result.ok && result.config.sticky.trustProxyHeaders).toBe(expected);
  });

  it.each(["maybe", "", "2", "tru"])("refuses TRUST_PROXY_HEADERS=%j", (value) => {
    expect(issuesOf({ TRUST_PROXY_HEADERS: value })).toEqual([
      { variable: "TRUST_PROXY_HEADERS", message: expect.stringContaining("true/false") },
    ]);
  });

  it.each([
    ["UPSTREAM_BASE_URL", "llm.chutes.ai"],
    ["UPSTREAM_BASE_URL", "ftp://llm.chutes.ai"],
    ["MODELS_URL", "javascript:alert(1)"],
    ["UTILIZATION_URL", ""],
  ])("refuses %s=%j: URLs must be absolute http(s)", (variable, value) => {
    expect(issuesOf({ [variable]: value }).map((issue) => issue.variable)).toEqual([variable]);
  });

  it("drops a trailing slash from the upstream base URL", () => {
    const result = parseConfig({ UPSTREAM_BASE_URL: "http://127.0.0.1:8787/" });
    expect(result.ok && result.config.upstream.baseUrl).toBe("http://127.0.0.1:8787");
  });

  it("refuses an empty alias name", () => {
    expect(issuesOf({ ALIAS_MODEL: "  " }).map((issue) => issue.variable)).toEqual(["ALIAS_MODEL"]);
  });

  it("splits ROUTER_API_KEYS on commas, trimming and dropping empties", () => {
    const result = parseConfig({ ROUTER_API_KEYS: " key-a, ,key-b,", UPSTREAM_API_KEY: "cpk_upstream" });
    expect(result.ok && result.config.auth.routerApiKeys).toEqual(["key-a", "key-b"]);
  });

  it("requires UPSTREAM_API_KEY in managed mode, without echoing any key", () => {
    const issue = {
      variable: "UPSTREAM_API_KEY",
      message: "must be set when ROUTER_API_KEYS or ADMIN_API_KEY is set",
    };
    expect(parseConfig({ ROUTER_API_KEYS: "secret-client-key" })).toEqual({ ok: false, issues: [issue] });
    expect(parseConfig({ ADMIN_API_KEY: "secret-admin-key" })).toEqual({ ok: false, issues: [issue] });
  });

  it("turns managed mode on with either kind of router key", () => {
    const managed = (vars: Record<string, string>) => {
      const result = parseConfig({ UPSTREAM_API_KEY: "cpk_upstream", ...vars });
      return result.ok && result.config.auth.managed;
    };
    expect(managed({})).toBe(false);
    expect(managed({ ROUTER_API_KEYS: "k" })).toBe(true);
    expect(managed({ ADMIN_API_KEY: "admin" })).toBe(true);
  });

  it("names every refused variable once", () => {
    const issues = issuesOf({ MAX_ATTEMPTS: "x", MODELS_URL: "nope", BREAKER_COOLDOWN_MS: "-5" });
    expect(issues.map((issue) => issue.variable).sort()).toEqual([
      "BREAKER_COOLDOWN_MS",
      "MAX_ATTEMPTS",
      "MODELS_URL",
    ]);
  });

  it("ignores bindings and variables it does not know", () => {
    expect(parseConfig({ CONTROL_PLANE: {}, SOMETHING_ELSE: 42 }).ok).toBe(true);
  });
});
