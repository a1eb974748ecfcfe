// /admin/keys (docs/contract.md §15): managed keys created, listed, read, changed, revoked and rotated by the
// operator with ADMIN_API_KEY. Bodies are validated by the valibot schemas below, the same schemas
// /openapi.json is generated from. A key's secret is returned once, when it is made; only its hash is kept.
import { Hono } from "hono";
import { describeRoute, resolver, validator } from "hono-openapi";
import * as v from "valibot";
import type { AppEnv } from "../app-env.ts";
import { isAllowedKey, presentedKey } from "../core/api-keys.ts";
import { FailureError } from "../core/failure.ts";
import {
  hashSecret,
  type KeyLimits,
  type KeyRecord,
  NO_LIMITS,
  newKeyId,
  newSecret,
  VISIBLE_PREFIX_LENGTH,
} from "../core/managed-key.ts";
import {
  type KeyChange,
  type KeyDescription,
  keyDirectoryStub,
  keyLedgerStub,
} from "../state/key-objects.ts";
import { requireConfig } from "./config-guard.ts";

const positiveInteger = (what: string) =>
  v.pipe(
    v.number(`must be a number of ${what}`),
    v.integer(`must be a whole number of ${what}`),
    v.minValue(1, "must be at least 1"),
  );
const limitField = <S extends v.GenericSchema>(schema: S, description: string) =>
  v.pipe(v.optional(v.nullable(schema)), v.description(`${description} null or absent: no limit.`));

const LIMIT_FIELDS = {
  models: limitField(
    v.array(v.pipe(v.string("must be a model name"), v.trim(), v.nonEmpty("must not be empty"))),
    "Models the key may request, aliases included (`chutesai/AutoPilot`); `prefix*` matches a prefix.",
  ),
  rpm: limitField(positiveInteger("requests"), "Requests per minute, fleet-wide."),
  tpm: limitField(positiveInteger("tokens"), "Tokens (prompt and completion) per minute, fleet-wide."),
  max_concurrency: limitField(positiveInteger("requests"), "Requests in flight at once, fleet-wide."),
  budget_usd: limitField(
    v.pipe(v.number("must be a number of USD"), v.minValue(0, "must not be negative")),
    "USD the key may spend per budget period: upstream usage times the models feed's pricing.",
  ),
  budget_period: v.pipe(
    v.optional(v.picklist(["day", "week", "month", "total"], "must be day, week, month or total")),
    v.description("When the budget resets, at 00:00 UTC (weeks start on Monday); `total` never does."),
  ),
  expires_at: limitField(
    v.pipe(v.string("must be an ISO 8601 date-time"), v.isoTimestamp("must be an ISO 8601 date-time")),
    "When the key stops working (ISO 8601).",
  ),
};

export const CREATE_KEY = v.strictObject({
  name: v.pipe(
    v.string("must be a string"),
    v.trim(),
    v.nonEmpty("must not be empty"),
    v.maxLength(200, "must be at most 200 characters"),
    v.description("What the key is for: a person, a team or a service."),
  ),
  ...LIMIT_FIELDS,
});

export const UPDATE_KEY = v.strictObject({
  name: v.optional(CREATE_KEY.entries.name),
  ...LIMIT_FIELDS,
});

/** How long a rotated-out secret keeps working unless the rotation says otherwise. */
const DEFAULT_GRACE_SECONDS = 3600;

export const ROTATE_KEY = v.strictObject({
  grace_seconds: v.pipe(
    v.optional(
      v.pipe(
        v.number("must be a number of seconds"),
        v.integer("must be a whole number of seconds"),
        v.minValue(0, "must not be negative"),
        v.maxValue(30 * 86_400, "must be at most 30 days"),
      ),
      DEFAULT_GRACE_SECONDS,
    ),
    v.description("How long the old secret keeps working (default 3600)."),
  ),
});

const TIME = v.nullable(v.string());
export const KEY_VIEW = v.object({
  id: v.string(),
  object: v.literal("api_key"),
  name: v.string(),
  prefix: v.pipe(v.string(), v.description("The secret's first characters, to tell keys apart.")),
  status: v.picklist(["active", "revoked", "expired"]),
  models: v.nullable(v.array(v.string())),
  rpm: v.nullable(v.number()),
  tpm: v.nullable(v.number()),
  max_concurrency: v.nullable(v.number()),
  budget_usd: v.nullable(v.number()),
  budget_period: v.picklist(["day", "week", "month", "total"]),
  expires_at: TIME,
  created_at: v.string(),
  revoked_at: TIME,
  last_used_at: TIME,
  previous_key_valid_until: TIME,
  spend: v.object({
    period_start: v.string(),
    period_end: TIME,
    usd: v.number(),
    total_usd: v.number(),
  }),
  usage: v.object({ requests: v.number(), prompt_tokens: v.number(), completion_tokens: v.number() }),
});
export const KEY_WITH_SECRET = v.object({
  ...KEY_VIEW.entries,
  key: v.pipe(v.string(), v.description("The secret (`sk-ap-…`). Shown this once; only its hash is stored.")),
});
const KEY_LIST = v.object({ object: v.literal("list"), data: v.array(KEY_VIEW) });

export type KeyView = v.InferOutput<typeof KEY_VIEW>;

/** Bad bodies answer 400 `invalid_request` naming the field, like every other refusal. */
function invalidBody(result: { success: boolean; error?: unknown }): void {
  if (result.success) return;
  const issues = (result.error ?? []) as ReadonlyArray<{ message: string; path?: ReadonlyArray<unknown> }>;
  const first = issues[0];
  const field = (first?.path ?? [])
    .map((item) =>
      typeof item === "object" && item !== null && "key" in item ? String(item.key) : String(item),
    )
    .join(".");
  throw new FailureError({
    kind: "invalid_request",
    message: first ? `${field === "" ? "body" : field}: ${first.message}` : "invalid body",
  });
}

const json = (description: string, schema: v.GenericSchema) => ({
  description,
  content: { "application/json": { schema: resolver(schema) } },
});
const ERRORS = {
  400: { description: "A field is invalid (OpenAI error shape, code `invalid_request`)." },
  401: { description: "Missing or wrong admin key." },
  404: { description: "No such key, or the admin API is off (ADMIN_API_KEY unset)." },
};

export const adminRoutes = new Hono<AppEnv>();

adminRoutes.use("/admin/*", requireConfig, async (c, next) => {
  const admin = c.get("config").auth.adminApiKey;
  if (admin === null) throw new FailureError({ kind: "admin_disabled" });
  if (!isAllowedKey(presentedKey(c.req.header("authorization") ?? null), [admin]))
    throw new FailureError({ kind: "invalid_api_key", challenge: "none" });
  await next();
});

adminRoutes.post(
  "/admin/keys",
  describeRoute({
    tags: ["admin"],
    summary: "Create a managed key",
    security: [{ adminKey: [] }],
    responses: { 201: json("The key, with its secret shown this once.", KEY_WITH_SECRET), ...ERRORS },
  }),
  validator("json", CREATE_KEY, invalidBody),
  async (c) => {
    const body = c.req.valid("json");
    const nowMs = Date.now();
    const secret = newSecret();
    const hash = await hashSecret(secret);
    const record: KeyRecord = {
      id: newKeyId(),
      name: body.name,
      prefix: secret.slice(0, VISIBLE_PREFIX_LENGTH),
      limits: limitsOf(body, NO_LIMITS),
      createdMs: nowMs,
      revokedMs: null,
      hashes: [{ hash, untilMs: null }],
    };
    await keyLedgerStub(c.env, record.id).create(record);
    await keyDirectoryStub(c.env).add(record.id, hash);
    const described = await describe(c.env, record.id);
    return c.json({ ...described, key: secret }, 201);
  },
);

adminRoutes.get(
  "/admin/keys",
  describeRoute({
    tags: ["admin"],
    summary: "List managed keys",
    security: [{ adminKey: [] }],
    responses: { 200: json("Every key, oldest first.", KEY_LIST), 401: ERRORS[401], 404: ERRORS[404] },
  }),
  async (c) => c.json({ object: "list" as const, data: await listKeys(c.env) }),
);

adminRoutes.get(
  "/admin/keys/:id",
  describeRoute({
    tags: ["admin"],
    summary: "Read a managed key: limits, spend this period, requests, tokens, last use",
    security: [{ adminKey: [] }],
    responses: { 200: json("The key.", KEY_VIEW), 401: ERRORS[401], 404: ERRORS[404] },
  }),
  async (c) => c.json(await describe(c.env, c.req.param("id"))),
);

adminRoutes.patch(
  "/admin/keys/:id",
  describeRoute({
    tags: ["admin"],
    summary: "Change a key's name or limits (null clears a limit)",
    security: [{ adminKey: [] }],
    responses: { 200: json("The key as changed.", KEY_VIEW), ...ERRORS },
  }),
  validator("json", UPDATE_KEY, invalidBody),
  async (c) => {
    const id = c.req.param("id");
    const body = c.req.valid("json");
    const change: KeyChange = { ...changedLimits(body) };
    if (body.name !== undefined) change.name = body.name;
    return c.json(toView(id, await keyLedgerStub(c.env, id).update(change)));
  },
);

adminRoutes.delete(
  "/admin/keys/:id",
  describeRoute({
    tags: ["admin"],
    summary: "Revoke a key: every isolate refuses it within 5 s",
    security: [{ adminKey: [] }],
    responses: { 200: json("The revoked key.", KEY_VIEW), 401: ERRORS[401], 404: ERRORS[404] },
  }),
  async (c) => {
    const id = c.req.param("id");
    return c.json(toView(id, await keyLedgerStub(c.env, id).revoke()));
  },
);

adminRoutes.post(
  "/admin/keys/:id/rotate",
  describeRoute({
    tags: ["admin"],
    summary: "Issue a new secret; the old one keeps working for grace_seconds",
    security: [{ adminKey: [] }],
    responses: { 200: json("The key with its new secret, shown this once.", KEY_WITH_SECRET), ...ERRORS },
  }),
  validator("json", ROTATE_KEY, invalidBody),
  async (c) => {
    const id = c.req.param("id");
    const { grace_seconds: graceSeconds } = c.req.valid("json");
    const secret = newSecret();
    const hash = await hashSecret(secret);
    const rotated = await keyLedgerStub(c.env, id).rotate(
      hash,
      secret.slice(0, VISIBLE_PREFIX_LENGTH),
      Date.now() + graceSeconds * 1000,
    );
    const view = toView(id, rotated);
    await keyDirectoryStub(c.env).add(id, hash);
    return c.json({ ...view, key: secret });
  },
);

/** Every key's view, oldest first (for the admin API and the status page). */
export async function listKeys(env: Env): Promise<KeyView[]> {
  const ids = await keyDirectoryStub(env).list();
  const described = await Promise.all(ids.map((id) => keyLedgerStub(env, id).describe()));
  return described.flatMap((description, i) => (description ? [viewOf(ids[i] as string, description)] : []));
}

async function describe(env: Env, id: string): Promise<KeyView> {
  return toView(id, await keyLedgerStub(env, id).describe());
}

function toView(id: string, description: KeyDescription | null): KeyView {
  if (!description) throw new FailureError({ kind: "key_not_found", id });
  return viewOf(id, description);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function viewOf(id: string, { record, status, ledger, previousKeyValidUntilMs }: KeyDescription): KeyView {
  const { limits } = record;
  return {
    id,
    object: "api_key",
    name: record.name,
    prefix: record.prefix,
    status,
    models: limits.models,
    rpm: limits.rpm,
    tpm: limits.tpm,
    max_concurrency: limits.maxConcurrency,
    budget_usd: limits.budgetUsd,
    budget_period: limits.budgetPeriod,
    expires_at: iso(limits.expiresAtMs),
    created_at: new Date(record.createdMs).toISOString(),
    revoked_at: iso(record.revokedMs),
    last_used_at: iso(ledger.lastUsedMs),
    previous_key_valid_until: iso(previousKeyValidUntilMs),
    spend: {
      period_start: new Date(ledger.periodStartMs).toISOString(),
      period_end: iso(ledger.periodEndMs),
      usd: ledger.periodSpentUsd,
      total_usd: ledger.spentUsdTotal,
    },
    usage: {
      requests: ledger.requests,
      prompt_tokens: ledger.promptTokens,
      completion_tokens: ledger.completionTokens,
    },
  };
}

type LimitInput = v.InferOutput<typeof UPDATE_KEY>;

/** The limits a body sets on top of `base`. */
function limitsOf(body: LimitInput, base: KeyLimits): KeyLimits {
  return { ...base, ...changedLimits(body) };
}

/** Only the limits a body names: absent leaves a limit as it is, null clears it. */
function changedLimits(body: LimitInput): Partial<KeyLimits> {
  const change: Partial<KeyLimits> = {};
  if (body.models !== undefined) change.models = body.models;
  if (body.rpm !== undefined) change.rpm = body.rpm;
  if (body.tpm !== undefined) change.tpm = body.tpm;
  if (body.max_concurrency !== undefined) change.maxConcurrency = body.max_concurrency;
  if (body.budget_usd !== undefined) change.budgetUsd = body.budget_usd;
  if (body.budget_period !== undefined) change.budgetPeriod = body.budget_period;
  if (body.expires_at !== undefined)
    change.expiresAtMs = body.expires_at === null ? null : Date.parse(body.expires_at);
  return change;
}
