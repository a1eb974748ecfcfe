// /admin/keys (docs/contract.md §15): managed keys created, listed, read, changed, revoked and rotated by the
// operator with ADMIN_API_KEY. Bodies are validated by the valibot schemas in admin-schemas.ts, the same
// schemas /openapi.json is generated from; keys are shown as key-views.ts shows them. A key's secret is
// returned once, when it is made; only its hash is kept.
import { Hono } from "hono";
import { describeRoute, validator } from "hono-openapi";
import type { AppEnv } from "../app-env.ts";
import { FailureError } from "../core/failure.ts";
import {
  hashSecret,
  type KeyRecord,
  NO_LIMITS,
  newKeyId,
  newSecret,
  VISIBLE_PREFIX_LENGTH,
} from "../core/managed-key.ts";
import { type KeyChange, keyDirectoryStub, keyLedgerStub } from "../state/key-objects.ts";
import {
  CREATE_KEY,
  changedLimits,
  KEY_LIST,
  KEY_VIEW,
  KEY_WITH_SECRET,
  limitsOf,
  ROTATE_KEY,
  UPDATE_KEY,
} from "./admin-schemas.ts";
import { requireConfig } from "./config-guard.ts";
import { describe, listKeys, toView } from "./key-views.ts";
import { invalidInput, jsonContent } from "./openapi-shared.ts";
import { requireAdminKey } from "./operator-auth.ts";
import { recordRoutes } from "./records.ts";
import { rolloutRoutes } from "./rollouts.ts";

/** A key cannot be set to record `redacted` while the router has no RECORDING_REDACTION_KEY to redact with. */
function canRedact(config: { recording: { redactionKey: string | null } }, level: string | null | undefined) {
  if (level === "redacted" && config.recording.redactionKey === null)
    throw new FailureError({
      kind: "invalid_request",
      message: "recording: redacted needs the RECORDING_REDACTION_KEY secret to be set",
    });
}

const ERRORS = {
  400: { description: "A field is invalid (OpenAI error shape, code `invalid_request`)." },
  401: { description: "Missing or wrong admin key." },
  404: { description: "No such key, or the admin API is off (ADMIN_API_KEY unset)." },
};

export const adminRoutes = new Hono<AppEnv>();

adminRoutes.use("/admin/*", requireConfig, requireAdminKey("none"));

adminRoutes.post(
  "/admin/keys",
  describeRoute({
    tags: ["admin"],
    summary: "Create a managed key",
    security: [{ adminKey: [] }],
    responses: { 201: jsonContent("The key, with its secret shown this once.", KEY_WITH_SECRET), ...ERRORS },
  }),
  validator("json", CREATE_KEY, invalidInput),
  async (c) => {
    const body = c.req.valid("json");
    canRedact(c.get("config"), body.recording);
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
    responses: { 200: jsonContent("Every key, oldest first.", KEY_LIST), 401: ERRORS[401], 404: ERRORS[404] },
  }),
  async (c) => c.json({ object: "list" as const, data: await listKeys(c.env) }),
);

adminRoutes.get(
  "/admin/keys/:id",
  describeRoute({
    tags: ["admin"],
    summary: "Read a managed key: limits, spend this period, requests, tokens, last use",
    security: [{ adminKey: [] }],
    responses: { 200: jsonContent("The key.", KEY_VIEW), 401: ERRORS[401], 404: ERRORS[404] },
  }),
  async (c) => c.json(await describe(c.env, c.req.param("id"))),
);

adminRoutes.patch(
  "/admin/keys/:id",
  describeRoute({
    tags: ["admin"],
    summary: "Change a key's name or limits (null clears a limit)",
    security: [{ adminKey: [] }],
    responses: { 200: jsonContent("The key as changed.", KEY_VIEW), ...ERRORS },
  }),
  validator("json", UPDATE_KEY, invalidInput),
  async (c) => {
    const id = c.req.param("id");
    const body = c.req.valid("json");
    canRedact(c.get("config"), body.recording);
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
    responses: { 200: jsonContent("The revoked key.", KEY_VIEW), 401: ERRORS[401], 404: ERRORS[404] },
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
    responses: {
      200: jsonContent("The key with its new secret, shown this once.", KEY_WITH_SECRET),
      ...ERRORS,
    },
  }),
  validator("json", ROTATE_KEY, invalidInput),
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

adminRoutes.route("/", recordRoutes);
adminRoutes.route("/", rolloutRoutes);
