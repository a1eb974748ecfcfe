// A build of the router for `npm run simulate` (never deployed): the real Worker and Durable Objects, plus
// POST /__simulate?isolates=M&seconds=S, which plays M busy isolates against the real control-plane object at
// their real rates (an outcome flush every 50 ms, a view load every second) and measures what the object
// sustains: calls per second, call latency, how long a model failing everywhere takes to show as open in
// every isolate's view, and how old the isolates' views get. The isolates are simulated inside this Worker,
// so on one machine they share its CPU with the object: the curve is this machine's, not production's.
import type { OutcomeReport } from "../src/core/outcome.ts";
import type { RoutingView } from "../src/core/snapshot.ts";
import router from "../src/index.ts";
import { controlPlaneStub } from "../src/state/control-plane.ts";

export { ControlPlane, StickyShard } from "../src/index.ts";

const FLUSH_EVERY_MS = 50;
const VIEW_EVERY_MS = 1000;
const SAMPLE_EVERY_MS = 100;
const REPORTS_PER_FLUSH = 4;

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

async function simulate(env: Env, isolates: number, seconds: number) {
  const controlPlane = controlPlaneStub(env);
  const first = await controlPlane.getView();
  const failing = first.candidates[0]?.name ?? "fake/fast-model";
  const healthy = first.candidates.slice(1).map((candidate) => candidate.name);
  // Start closed: a success closes the breaker whatever state an earlier run left it in.
  await controlPlane.reportOutcomes([report(failing, false)]);

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
    const offset = (index * FLUSH_EVERY_MS) / isolates;
    timers.push(
      setTimeout(() => {
        timers.push(
          setInterval(() => {
            if (Date.now() >= endMs) return;
            const failed = Date.now() >= failAtMs;
            const batch = Array.from({ length: REPORTS_PER_FLUSH }, (_, i) =>
              report(
                failed ? failing : (healthy[(index + i) % Math.max(1, healthy.length)] ?? failing),
                failed,
              ),
            );
            pending.push(call(state, () => controlPlane.reportOutcomes(batch)));
          }, FLUSH_EVERY_MS),
        );
        timers.push(
          setInterval(() => {
            if (Date.now() < endMs) pending.push(call(state, () => controlPlane.getView()));
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
  const delays = states.map((state) => (state.sawOpenAtMs === null ? null : state.sawOpenAtMs - failAtMs));
  const seen = delays.filter((delay): delay is number => delay !== null);
  return {
    isolates,
    seconds,
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
    return Response.json(await simulate(env, isolates, seconds));
  },
} satisfies ExportedHandler<Env>;
