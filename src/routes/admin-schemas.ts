// What the admin API reads and answers (docs/contract.md §15), as the valibot schemas that validate the bodies
// and that /openapi.json is generated from, and how a body's limit fields become a key's limits.
import * as v from "valibot";
import type { KeyLimits } from "../core/managed-key.ts";
import { RECORDING_LEVELS } from "../core/record.ts";

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
  recording: v.pipe(
    v.optional(v.nullable(v.picklist(RECORDING_LEVELS, "must be off, metadata, redacted or full"))),
    v.description(
      "What is recorded of the key's requests: off, metadata (no bodies), redacted (bodies with PII replaced) or full. null or absent: the router's RECORDING.",
    ),
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
  recording: v.pipe(
    v.nullable(v.picklist(RECORDING_LEVELS)),
    v.description("The key's recording level; null: the router's RECORDING."),
  ),
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
export const KEY_LIST = v.object({ object: v.literal("list"), data: v.array(KEY_VIEW) });

export type KeyView = v.InferOutput<typeof KEY_VIEW>;

type LimitInput = v.InferOutput<typeof UPDATE_KEY>;

/** The limits a body sets on top of `base`. */
export function limitsOf(body: LimitInput, base: KeyLimits): KeyLimits {
  return { ...base, ...changedLimits(body) };
}

/** Only the limits a body names: absent leaves a limit as it is, null clears it. */
export function changedLimits(body: LimitInput): Partial<KeyLimits> {
  const change: Partial<KeyLimits> = {};
  if (body.models !== undefined) change.models = body.models;
  if (body.rpm !== undefined) change.rpm = body.rpm;
  if (body.tpm !== undefined) change.tpm = body.tpm;
  if (body.max_concurrency !== undefined) change.maxConcurrency = body.max_concurrency;
  if (body.budget_usd !== undefined) change.budgetUsd = body.budget_usd;
  if (body.budget_period !== undefined) change.budgetPeriod = body.budget_period;
  if (body.expires_at !== undefined)
    change.expiresAtMs = body.expires_at === null ? null : Date.parse(body.expires_at);
  if (body.recording !== undefined) change.recording = body.recording;
  return change;
}
