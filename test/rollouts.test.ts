// Rollouts (docs/contract.md §18) through the Worker: sessions split by arm, each arm measured fleet-wide from
// the outcome digests, steps advanced by the control plane's judgement on a clock the test passes in, promotion,
// and an automatic abort when the candidate starts failing, with the webhook called and the history readable.
import { env } from "cloudflare:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { isolateState } from "../src/isolate/isolate-state.ts";
import { controlPlaneStub } from "../src/state/control-plane.ts";
import { adminClient, type Router } from "./support/admin.ts";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { configuredRouter, settleOutcomes } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { jsonResponse } from "./support/stub-fetch.ts";
import { calledModels, healthyJson, serveUpstream, status } from "./support/upstream.ts";

const [ALPHA, BETA, GAMMA] = HEALTHY_RANKING as [string, string, string];
const ALIAS = "chutesai/AutoPilot";
const ADMIN = "admin-secret-for-rollout-tests";
const CLIENTS = Array.from({ length: 200 }, (_, i) => `rk_rollout_client_${i}`);
const VARS = {
  ADMIN_API_KEY: ADMIN,
  UPSTREAM_API_KEY: "cpk_upstream_secret",
  ROUTER_API_KEYS: CLIENTS.join(","),
};
const WEBHOOK = "http://127.0.0.1:9/rollout-webhook";

const stub = useRoutingFixture();
const { admin } = adminClient(ADMIN);

interface RolloutView {
  id: string;
  state: string;
  weight: number;
  step: number;
  arms: Record<"baseline" | "candidate", { requests: number; failures: number; sessions: number }>;
  events: Array<{ kind: string; weight: number; reason: string }>;
}

async function rollout(router: Router, id: string): Promise<RolloutView> {
  const response = await admin(router, "GET", `/admin/rollouts/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as RolloutView;
}

/** One request per client, each read to its end; the models that answered (the failed ones' status). */
async function traffic(router: Router, clients: readonly string[]): Promise<string[]> {
  const selected: string[] = [];
  for (const client of clients) {
    const response = await router.call(
      "/v1/chat/completions",
      chatRequest({ model: ALIAS, messages: MESSAGES }, { authorization: `Bearer ${client}` }),
    );
    const body = (await response.json()) as { model?: string };
    selected.push(response.ok ? (body.model ?? "") : String(response.status));
  }
  await router.drain();
  await settleOutcomes();
  forgetView(router);
  return selected;
}

/** The next requests read the view, rollouts included, as the control plane has it now. */
function forgetView(router: Router): void {
  isolateState(router.env).views.clear();
}

/** The control plane's judgement, at `nowMs`. */
const judge = (nowMs: number) => controlPlaneStub(env).judgeRollouts(nowMs);

describe("a rollout", () => {
  it("splits by session, advances step by step while both arms are healthy, and promotes", async () => {
    const router = configuredRouter(VARS);
    const hooks: unknown[] = [];
    stub().on(WEBHOOK, async (request) => {
      hooks.push(await request.json());
      return jsonResponse({ ok: true });
    });
    serveUpstream(stub(), { [ALPHA]: healthyJson(), [BETA]: healthyJson() });
    const created = await admin(router, "POST", "/admin/rollouts", {
      name: "beta for the alias",
      match: ALIAS,
      candidate: BETA,
      steps: [50, 100],
      step_minutes: 1,
      min_requests: 10,
      min_sessions: 5,
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as RolloutView;
    forgetView(router);
    const startMs = Date.now();

    const first = await traffic(router, CLIENTS.slice(0, 60));
    const onBeta = first.filter((model) => model === BETA).length;
    // About half the sessions, and each stays in its arm.
    expect(onBeta).toBeGreaterThan(15);
    expect(onBeta).toBeLessThan(45);
    expect(await traffic(router, CLIENTS.slice(0, 60))).toEqual(first);
    let view = await rollout(router, id);
    expect(view.arms.candidate.requests).toBe(onBeta * 2);
    expect(view.arms.baseline.requests).toBe((60 - onBeta) * 2);
    expect(view.arms.candidate.sessions).toBe(onBeta);

    // Before the step's minute is over nothing moves; after it, the step passes.
    await judge(startMs + 30_000);
    expect((await rollout(router, id)).weight).toBe(50);
    await judge(startMs + 61_000);
    view = await rollout(router, id);
    expect(view).toMatchObject({ state: "running", weight: 100, step: 1 });
    forgetView(router);

    // At 100 % every session asks for the candidate, and the last step promotes it.
    const all = await traffic(router, CLIENTS.slice(0, 20));
    expect(new Set(all)).toEqual(new Set([BETA]));
    await judge(startMs + 61_000 + 61_000);
    view = await rollout(router, id);
    expect(view.state).toBe("promoted");
    expect(view.events.map((event) => event.kind)).toEqual(["created", "advanced", "promoted"]);
    expect(hooks).toEqual([expect.objectContaining({ text: expect.stringContaining("promoted") })]);
    forgetView(router);
    expect(new Set(await traffic(router, CLIENTS.slice(100, 110)))).toEqual(new Set([BETA]));

    const statusJson = await router.call("/status", {
      headers: { authorization: `Bearer ${ADMIN}`, accept: "application/json" },
    });
    const status = (await statusJson.json()) as { rollouts: RolloutView[] };
    expect(status.rollouts).toEqual([
      expect.objectContaining({
        id,
        state: "promoted",
        arms: expect.objectContaining({ candidate: expect.anything() }),
      }),
    ]);
    const page = await (
      await router.call("/status", { headers: { authorization: `Bearer ${ADMIN}` } })
    ).text();
    expect(page).toContain(`data-rollout="${id}"`);
    expect(page).toContain('data-arm="candidate"');
    const metrics = await router.call("/metrics", { headers: { authorization: `Bearer ${ADMIN}` } });
    const families = parsePrometheusTextFormat(await metrics.text());
    const weight = families.find((family) => family.name === "chutes_autopilot_rollout_weight");
    expect(weight?.metrics).toContainEqual(
      expect.objectContaining({ labels: { rollout: id }, value: "100" }),
    );
    const requests = families.find((family) => family.name === "chutes_autopilot_requests_total");
    expect(requests?.metrics).toContainEqual(
      expect.objectContaining({ labels: { status: "200", rollout: id, arm: "candidate" } }),
    );
  });

  it("aborts at the next judgement when the candidate starts failing, calls the webhook, keeps the history", async () => {
    const router = configuredRouter(VARS);
    // The webhook's first delivery fails; the next judgement past its backoff delivers it.
    const hooks: Array<{ text: string }> = [];
    let webhookCalls = 0;
    stub().on(WEBHOOK, async (request) => {
      webhookCalls += 1;
      if (webhookCalls === 1) return jsonResponse({ error: "busy" }, 500);
      hooks.push((await request.json()) as { text: string });
      return jsonResponse({ ok: true });
    });
    serveUpstream(stub(), { [ALPHA]: healthyJson(), [GAMMA]: healthyJson() });
    const created = await admin(router, "POST", "/admin/rollouts", {
      name: "gamma trial",
      match: ALIAS,
      candidate: GAMMA,
      steps: [50, 100],
      step_minutes: 60,
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as RolloutView;
    forgetView(router);
    // A second rollout on the same match is refused while this one runs.
    const clash = await admin(router, "POST", "/admin/rollouts", {
      name: "x",
      match: ALIAS,
      candidate: BETA,
    });
    expect(clash.status).toBe(409);

    // Paused, and then the candidate starts failing: a crossed guard still aborts.
    expect((await admin(router, "POST", `/admin/rollouts/${id}/pause`)).status).toBe(200);
    serveUpstream(stub(), { [ALPHA]: healthyJson(), [GAMMA]: status(503, "{}") });
    await traffic(router, CLIENTS.slice(0, 200));
    expect(calledModels(stub())).toContain(GAMMA);
    const abortedAtMs = Date.now();
    await judge(abortedAtMs);
    const view = await rollout(router, id);
    expect(view).toMatchObject({ state: "aborted", weight: 0 });
    expect(hooks).toEqual([]);
    await judge(abortedAtMs + 5_000);
    expect(webhookCalls).toBe(1);
    await judge(abortedAtMs + 11_000);
    const aborted = view.events.at(-1);
    expect(aborted?.kind).toBe("aborted");
    expect(aborted?.reason).toMatch(/fast guard/);
    expect(hooks.map((hook) => hook.text)).toEqual([expect.stringContaining("aborted")]);
    forgetView(router);
    // Every session is back on the baseline.
    expect(new Set(await traffic(router, CLIENTS.slice(0, 30)))).toEqual(new Set([ALPHA]));
    // Re-arming waits for the cooldown.
    expect((await admin(router, "POST", `/admin/rollouts/${id}/resume`)).status).toBe(409);
  });

  it("refuses a rollout it could not run", async () => {
    const router = configuredRouter(VARS);
    const refused = async (body: Record<string, unknown>) => {
      const response = await admin(router, "POST", "/admin/rollouts", {
        name: "x",
        match: "acme/beta-8b",
        ...body,
      });
      return {
        status: response.status,
        message: ((await response.json()) as { error: { message: string } }).error.message,
      };
    };
    expect(await refused({ candidate: "nobody/unknown" })).toMatchObject({ status: 400 });
    expect(await refused({ candidate: ALPHA, steps: [50, 25] })).toMatchObject({ status: 400 });
    expect(await refused({ candidate: ALPHA, steps: [0, 50] })).toMatchObject({ status: 400 });
    expect(await refused({ candidate: ALPHA, weight: 5 })).toMatchObject({ status: 400 });
    expect((await admin(router, "GET", "/admin/rollouts/ro_missing")).status).toBe(404);
  });
});
