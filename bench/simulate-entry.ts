// A build of the router for `npm run simulate` (never deployed): the real Worker and Durable Objects, plus
// POST /__simulate?isolates=M&seconds=S&locations=L, which plays M busy isolates at their real rates and
// measures what the objects sustain: calls per second, call latency, how long a model failing everywhere
// takes to show as open in every isolate's view, and how old the isolates' views get. With locations=0 the
// isolates talk to the control plane directly, as before the aggregator tier (an outcome flush every 50 ms,
// a view load every second); with L > 0 each belongs to one of L locations and talks to its
// LocationAggregator (a digest every 250 ms, a view load every second), and the control plane's own calls are
// counted. The isolates are simulated inside this Worker, so on one machine they share its CPU with the
// objects: the curve is this machine's, not production's.
import type { OutcomeReport } from "../src/core/outcome.ts";
import { digestReports, type OutcomeDigest } from "../src/core/outcome-digest.ts";
import type { RoutingView } from "../src/core/snapshot.ts";
import router from "../src/index.ts";
import { controlPlaneStub, ControlPlane as RealControlPlane } from "../src/state/control-plane.ts";
import { aggregatorStub } from "../src/state/location-aggregator.ts";

export { KeyDirectory, KeyLedger, LocationAggregator, StickyShard } from "../src/index.ts";

/** The real control plane, counting the calls it receives. */
export class ControlPlane extends RealControlPlane {
  calls = 0;
  override getView() {
    this.calls += 1;
    return super.getView();
  }
  override reportOutcomes(reports: OutcomeReport[]) {
    this.calls += 1;
    return super.reportOutcomes(reports);
  }
  override applyDigest(digest: OutcomeDigest) {
    this.calls += 1;
    return super.applyDigest(digest);
  }
  callCount(): number {
    return this.calls;
  }
}

const DIRECT_FLUSH_EVERY_MS = 50;
const TIER_FLUSH_EVERY_MS = 250;
const VIEW_EVERY_MS = 1000;
const SAMPLE_EVERY_MS = 100;
/** Reports per second per busy isolate: 4 per 50 ms flush. */
const REPORTS_PER_SECOND = 80;

interface SimulatedIsolate {
  lastViewAtMs: number;
  sawOpenAtMs: number | null;
}

function report(model: string, failed: boolean): OutcomeReport {
  return failed
    ? {
        status: 502,
        selected: null,
        attempts: [{ model, outcome: "retryable", reason: "upstream_503", status: 503, ms: 5 }],
        stream: null,
        usage: null,
      }
    : {
        status: 200,
        selected: model,
        attempts: [{ model, outcome: "committed", reason: null, status: 200, ms: 40 }],
        stream: { end: "complete", ttfbMs: 45, durationMs: 120, eventStream: true },
        usage: null,
      };
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function simulate(env: Env, isolates: number, seconds: number, locations: number) {
  const controlPlane = controlPlaneStub(env);
  const flushEveryMs = locations > 0 ? TIER_FLUSH_EVERY_MS : DIRECT_FLUSH_EVERY_MS;
  const reportsPerFlush = (REPORTS_PER_SECOND * flushEveryMs) / 1000;
  const countedPlane = controlPlane as unknown as { callCount(): Promise<number> };
  const first = await controlPlane.getView();
  const failing = first.candidates[0]?.name ?? "fake/fast-model";
  const healthy = first.candidates.slice(1).map((candidate) => candidate.name);
  // Start closed: a success closes the breaker whatever state an earlier run left it in.
  await controlPlane.reportOutcomes([report(failing, false)]);

  const batchOf = (model: (i: number) => string, failed: boolean) =>
    Array.from({ length: reportsPerFlush }, (_, i) => report(model(i), failed));
  const failingDigest = digestReports(
    batchOf(() => failing, true),
    Date.now(),
  );
  const healthyDigests = Array.from({ length: Math.max(1, healthy.length) }, (_, offset) =>
    digestReports(
      batchOf((i) => healthy[(offset + i) % Math.max(1, healthy.length)] ?? failing, false),
      Date.now(),
    ),
  );
  const planeCallsBefore = await countedPlane.callCount();
  const startMs = Date.now();
  const failAtMs = startMs + (seconds * 1000) / 2;
  const endMs = startMs + seconds * 1000;
  const latencies: number[] = [];
  const viewAges: number[] = [];
  let calls = 0;
  let errors = 0;
  const states: SimulatedIsolate[] = Array.from({ length: isolates }, () => ({
    lastViewAtMs: startMs,
    sawOpenAtMs: null,
  }));

  const onView = (state: SimulatedIsolate, view: RoutingView) => {
    const now = Date.now();
    state.lastViewAtMs = now;
    const breaker = view.breakers[failing];
    if (state.sawOpenAtMs === null && now >= failAtMs && breaker?.openedAtMs != null) state.sawOpenAtMs = now;
  };
  const call = (state: SimulatedIsolate, rpc: () => Promise<RoutingView>) => {
    const sentMs = Date.now();
    return rpc()
      .then((view) => {
        calls += 1;
        latencies.push(Date.now() - sentMs);
        onView(state, view);
      })
      .catch(() => {
        errors += 1;
      });
  };

  const pending: Promise<void>[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];
  states.forEach((state, index) => {
    // Spread the isolates' phases so their flushes do not all land on the same millisecond.
    const offset = (index * flushEveryMs) / isolates;
    const aggregator = locations > 0 ? aggregatorStub(env, `SIM${index % locations}`) : null;
    timers.push(
      setTimeout(() => {
        timers.push(
          setInterval(() => {
            if (Date.now() >= endMs) return;
            const failed = Date.now() >= failAtMs;
            if (aggregator) {
              // Every flush of a phase digests to the same thing: built once, so the simulator spends its
              // CPU on the calls, as the real isolates (each with a CPU of its own) would.
              const digest = failed ? failingDigest : healthyDigests[index % healthyDigests.length];
              pending.push(call(state, () => aggregator.report(digest as OutcomeDigest)));
              return;
            }
            const batch = batchOf(
              (i) => (failed ? failing : (healthy[(index + i) % Math.max(1, healthy.length)] ?? failing)),
              failed,
            );
            pending.push(call(state, () => controlPlane.reportOutcomes(batch)));
          }, flushEveryMs),
        );
        timers.push(
          setInterval(() => {
            if (Date.now() < endMs)
              pending.push(call(state, () => (aggregator ? aggregator.getView() : controlPlane.getView())));
          }, VIEW_EVERY_MS),
        );
      }, offset) as unknown as ReturnType<typeof setInterval>,
    );
  });
  timers.push(
    setInterval(() => {
      const now = Date.now();
      for (const state of states) viewAges.push(now - state.lastViewAtMs);
    }, SAMPLE_EVERY_MS),
  );

  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  for (const timer of timers) clearInterval(timer);
  const attempted = pending.length;
  // Calls still queued at the end are waited for (bounded), so their latency counts too.
  await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, 30_000))]);
  const elapsedS = (Date.now() - startMs) / 1000;
  const planeCalls = (await countedPlane.callCount()) - planeCallsBefore;
  const delays = states.map((state) => (state.sawOpenAtMs === null ? null : state.sawOpenAtMs - failAtMs));
  const seen = delays.filter((delay): delay is number => delay !== null);
  return {
    isolates,
    locations,
    seconds,
    wantedPerSecond: isolates * (1000 / flushEveryMs + 1000 / VIEW_EVERY_MS),
    controlPlaneCallsPerSecond: planeCalls / elapsedS,
    attemptedPerSecond: attempted / seconds,
    completedPerSecond: calls / elapsedS,
    errors,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    breakerOpenDelayP50Ms: percentile(seen, 50),
    breakerOpenDelayMaxMs: seen.length === isolates ? Math.max(...seen) : null,
    isolatesThatSawTheBreaker: seen.length,
    viewAgeP99Ms: percentile(viewAges, 99),
    viewAgeMaxMs: viewAges.length ? Math.max(...viewAges) : null,
  };
}

export default {
  ...router,
  async fetch(request: Request, env: Env, ctx: ExecutionContext) {
    const url = new URL(request.url);
    if (url.pathname !== "/__simulate") return router.fetch(request, env, ctx);
    const isolates = Number(url.searchParams.get("isolates") ?? "10");
    const seconds = Number(url.searchParams.get("seconds") ?? "4");
    const locations = Number(url.searchParams.get("locations") ?? "0");
    return Response.json(await simulate(env, isolates, seconds, locations));
  },
} satisfies ExportedHandler<Env>;
