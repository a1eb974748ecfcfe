// /admin/rollouts (docs/contract.md §18): create a rollout, list and read them with their arms and history,
// change one, and pause, resume (re-arm), abort or promote it. The control-plane object owns them and checks
// every write against the allowlist, the aliases and the rollouts already running. Mounted inside the admin
// routes, so the admin key check applies; /openapi.json documents them from the schemas here.
import { Hono } from "hono";
import { describeRoute, validator } from "hono-openapi";
import * as v from "valibot";
import type { AppEnv } from "../app-env.ts";
import type { RolloutEvent } from "../control/rollouts.ts";
import { FailureError } from "../core/failure.ts";
import type { ArmFigures } from "../core/rollout-judge.ts";
import { controlPlaneStub, type RolloutDetail, type RolloutWrite } from "../state/control-plane.ts";
import { invalidInput, jsonContent } from "./openapi-shared.ts";

const positive = (what: string) =>
  v.pipe(
    v.number(`must be a number of ${what}`),
    v.integer(`must be a whole number of ${what}`),
    v.minValue(1),
  );
const ratio = v.pipe(v.number("must be a number"), v.minValue(1, "must be at least 1"));

const FIELDS = {
  name: v.pipe(v.string(), v.trim(), v.nonEmpty("must not be empty"), v.maxLength(200)),
  candidate: v.pipe(
    v.string(),
    v.trim(),
    v.nonEmpty("must not be empty"),
    v.description("Where the candidate arm goes: a model, a list `a,b` or an alias."),
  ),
  steps: v.pipe(
    v.optional(v.array(v.number("must be a percentage"))),
    v.description(
      "The candidate's share of sessions at each step, in percent, rising (default 5, 25, 50, 100).",
    ),
  ),
  step_minutes: v.pipe(
    v.optional(v.pipe(v.number("must be a number of minutes"), v.minValue(0.05, "must be at least 0.05"))),
    v.description("How long each step lasts, in minutes (default 15; a fraction for a rehearsal)."),
  ),
  min_requests: v.pipe(
    v.optional(positive("requests")),
    v.description("Requests each arm needs in a step before it is judged (default 200)."),
  ),
  min_sessions: v.pipe(
    v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    v.description("Sessions each arm needs in a step (default 20)."),
  ),
  max_error_rate_increase: v.pipe(
    v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
    v.description("Largest error-rate increase over the baseline, as a fraction (default 0.01: 1 pp)."),
  ),
  max_ttft_p95_ratio: v.pipe(v.optional(ratio), v.description("Largest TTFT p95 ratio (default 1.5).")),
  max_cost_ratio: v.pipe(v.optional(ratio), v.description("Largest cost-per-request ratio (default 1.3).")),
  promote: v.pipe(
    v.optional(v.picklist(["auto", "manual"], "must be auto or manual")),
    v.description("auto (default): promoted when the last step passes; manual: waits for POST …/promote."),
  ),
  cooldown_minutes: v.pipe(
    v.optional(positive("minutes")),
    v.description("How long an aborted rollout waits before it can be re-armed (default 60)."),
  ),
};

export const CREATE_ROLLOUT = v.strictObject({
  ...FIELDS,
  match: v.pipe(
    v.string(),
    v.trim(),
    v.nonEmpty("must not be empty"),
    v.description("The `model` clients ask for (after the Claude model map) that this rollout splits."),
  ),
});
export const UPDATE_ROLLOUT = v.strictObject({
  ...FIELDS,
  name: v.optional(FIELDS.name),
  candidate: v.optional(FIELDS.candidate),
});

const ARM = v.object({
  requests: v.number(),
  attempts: v.number(),
  failures: v.number(),
  error_rate: v.nullable(v.number()),
  capacity: v.number(),
  ttfb_p95_ms: v.nullable(v.number()),
  cost_per_request_usd: v.nullable(v.number()),
  sessions: v.number(),
});
const EVENT = v.object({
  time: v.string(),
  kind: v.string(),
  state: v.string(),
  weight: v.number(),
  reason: v.string(),
  figures: v.nullable(v.unknown()),
});
const ROLLOUT_VIEW = v.object({
  id: v.string(),
  object: v.literal("rollout"),
  name: v.string(),
  match: v.string(),
  candidate: v.string(),
  steps: v.array(v.number()),
  step_minutes: v.number(),
  min_requests: v.number(),
  min_sessions: v.number(),
  max_error_rate_increase: v.number(),
  max_ttft_p95_ratio: v.number(),
  max_cost_ratio: v.number(),
  promote: v.picklist(["auto", "manual"]),
  cooldown_minutes: v.number(),
  state: v.picklist(["running", "paused", "aborted", "promoted"]),
  step: v.number(),
  weight: v.pipe(v.number(), v.description("The candidate's share of sessions now, in percent.")),
  step_started_at: v.string(),
  awaiting_promotion: v.boolean(),
  aborted_at: v.nullable(v.string()),
  created_at: v.string(),
  arms: v.pipe(v.object({ baseline: ARM, candidate: ARM }), v.description("Each arm this step so far.")),
  events: v.pipe(v.optional(v.array(EVENT)), v.description("Every change, oldest first, with its figures.")),
});
const ROLLOUT_LIST = v.object({ object: v.literal("list"), data: v.array(ROLLOUT_VIEW) });

export type RolloutView = v.InferOutput<typeof ROLLOUT_VIEW>;

function armView(arm: ArmFigures) {
  return {
    requests: arm.requests,
    attempts: arm.attempts,
    failures: arm.failures,
    error_rate: arm.errorRate,
    capacity: arm.capacity,
    ttfb_p95_ms: arm.ttfbP95Ms,
    cost_per_request_usd: arm.costPerRequestUsd,
    sessions: arm.sessions,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function eventView(event: RolloutEvent) {
  return {
    time: new Date(event.timeMs).toISOString(),
    kind: event.kind,
    state: event.state,
    weight: event.weight,
    reason: event.reason,
    figures: event.figures,
  };
}

/** A rollout as the admin API shows it. */
export function rolloutView({ rollout: r, arms, events }: RolloutDetail): RolloutView {
  return {
    id: r.id,
    object: "rollout",
    name: r.name,
    match: r.match,
    candidate: r.candidate,
    steps: r.steps,
    step_minutes: r.stepMinutes,
    min_requests: r.minRequests,
    min_sessions: r.minSessions,
    max_error_rate_increase: r.guards.maxErrorRateIncrease,
    max_ttft_p95_ratio: r.guards.maxTtftP95Ratio,
    max_cost_ratio: r.guards.maxCostRatio,
    promote: r.promote,
    cooldown_minutes: r.cooldownMinutes,
    state: r.state,
    step: r.step,
    weight: r.weight,
    step_started_at: new Date(r.stepStartedMs).toISOString(),
    awaiting_promotion: r.awaitingPromotion,
    aborted_at: iso(r.abortedMs),
    created_at: new Date(r.createdMs).toISOString(),
    arms: { baseline: armView(arms.baseline), candidate: armView(arms.candidate) },
    ...(events ? { events: events.map(eventView) } : {}),
  };
}

/** A write's answer: the rollout, or its refusal as the router's failures are answered. */
function answered(write: RolloutWrite): RolloutView {
  if (write.ok) return rolloutView(write.detail);
  if (write.status === 404) throw new FailureError({ kind: "rollout_not_found", id: write.message });
  if (write.status === 409) throw new FailureError({ kind: "rollout_conflict", message: write.message });
  throw new FailureError({ kind: "invalid_request", message: write.message });
}

const ERRORS = {
  400: {
    description: "A field is invalid: unknown model, steps that do not rise, … (code `invalid_request`).",
  },
  401: { description: "Missing or wrong admin key." },
  404: { description: "No such rollout, or the admin API is off (ADMIN_API_KEY unset)." },
  409: { description: "Another rollout already splits this match, or the state does not allow the action." },
};

export const rolloutRoutes = new Hono<AppEnv>();

rolloutRoutes.post(
  "/admin/rollouts",
  describeRoute({
    tags: ["rollouts"],
    summary: "Start a rollout: a share of the sessions asking for `match` go to `candidate`, step by step",
    security: [{ adminKey: [] }],
    responses: { 201: jsonContent("The rollout, running at its first step.", ROLLOUT_VIEW), ...ERRORS },
  }),
  validator("json", CREATE_ROLLOUT, invalidInput),
  async (c) => {
    const write = await controlPlaneStub(c.env).createRollout(c.req.valid("json"), Date.now());
    return c.json(answered(write), 201);
  },
);

rolloutRoutes.get(
  "/admin/rollouts",
  describeRoute({
    tags: ["rollouts"],
    summary: "List rollouts with their arms this step",
    security: [{ adminKey: [] }],
    responses: {
      200: jsonContent("Every rollout, oldest first.", ROLLOUT_LIST),
      401: ERRORS[401],
      404: ERRORS[404],
    },
  }),
  async (c) => {
    const details = await controlPlaneStub(c.env).listRollouts();
    return c.json({ object: "list" as const, data: details.map(rolloutView) });
  },
);

rolloutRoutes.get(
  "/admin/rollouts/:id",
  describeRoute({
    tags: ["rollouts"],
    summary: "Read a rollout: its arms side by side this step, and every change with its figures",
    security: [{ adminKey: [] }],
    responses: { 200: jsonContent("The rollout.", ROLLOUT_VIEW), 401: ERRORS[401], 404: ERRORS[404] },
  }),
  async (c) => {
    const detail = await controlPlaneStub(c.env).getRollout(c.req.param("id"));
    if (!detail) throw new FailureError({ kind: "rollout_not_found", id: c.req.param("id") });
    return c.json(rolloutView(detail));
  },
);

rolloutRoutes.patch(
  "/admin/rollouts/:id",
  describeRoute({
    tags: ["rollouts"],
    summary: "Change a rollout's candidate, steps, floors, guards or promotion (not its match)",
    security: [{ adminKey: [] }],
    responses: { 200: jsonContent("The rollout as changed.", ROLLOUT_VIEW), ...ERRORS },
  }),
  validator("json", UPDATE_ROLLOUT, invalidInput),
  async (c) => {
    const write = await controlPlaneStub(c.env).updateRollout(
      c.req.param("id"),
      c.req.valid("json"),
      Date.now(),
    );
    return c.json(answered(write));
  },
);

for (const action of ["pause", "resume", "abort", "promote"] as const) {
  rolloutRoutes.post(
    `/admin/rollouts/:id/${action}`,
    describeRoute({
      tags: ["rollouts"],
      summary: {
        pause: "Pause: the split stays where it is and steps stop (a failed guard still aborts)",
        resume: "Resume a paused rollout, or re-arm an aborted one after its cooldown (from the first step)",
        abort: "Abort: every session back to the baseline",
        promote: "Promote: the candidate becomes the routing for `match`",
      }[action],
      security: [{ adminKey: [] }],
      responses: { 200: jsonContent("The rollout.", ROLLOUT_VIEW), ...ERRORS },
    }),
    async (c) => {
      const write = await controlPlaneStub(c.env).actOnRollout(c.req.param("id"), action, Date.now());
      return c.json(answered(write));
    },
  );
}
