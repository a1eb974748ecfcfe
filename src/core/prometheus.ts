// Renders the docs/contract.md §11 and §13 metrics in the Prometheus text exposition format (version 0.0.4). Written by hand
// because the format is a few lines of escaping, while prom-client expects Node and a process-wide registry.
import { type BreakerOptions, breakerPhase } from "./breaker.ts";
import {
  type CounterDelta,
  type CounterMetric,
  DURATION_BUCKETS_SECONDS,
  TTFB_BUCKETS_SECONDS,
} from "./outcome-tally.ts";
import { feedAgeMs, type RoutingView } from "./snapshot.ts";

const PREFIX = "chutes_autopilot_";

const COUNTER_HELP = {
  requests_total: "Completion requests answered, by HTTP status.",
  routed_total:
    "Requests that reached routing, by HTTP status: each has a record unless recording is off (docs/contract.md §17).",
  selection_total: "Completion answers by the model that gave them and HTTP status.",
  failover_reason_total: "Upstream attempts that failed over, by reason.",
  stream_end_total: "Committed answers by model and how their body ended.",
  hedges_total: "Hedged attempts, by whether the hedge won the race.",
  resumes_total:
    "Streams that broke mid-answer, by what came of it (resumed, restarted, failed, ineligible) and model (docs/contract.md §19).",
  tokens_total:
    "Tokens of committed answers by model and kind (prompt, completion), from upstream usage or, without it, estimated.",
  spend_usd_total: "What committed answers cost in USD by model: usage times the models feed's pricing.",
} satisfies Partial<Record<CounterMetric, string>>;

const HISTOGRAMS = [
  {
    name: "ttfb_seconds",
    help: "Time from an attempt's start to its first body byte, for committed answers, by model.",
    buckets: TTFB_BUCKETS_SECONDS,
  },
  {
    name: "request_duration_seconds",
    help: "Time from a request's arrival to the end of its committed answer, by model.",
    buckets: DURATION_BUCKETS_SECONDS,
  },
] as const;

/** The text body for GET /metrics. */
export function renderMetrics(
  view: RoutingView,
  counters: readonly CounterDelta[],
  breakerOptions: BreakerOptions,
  nowMs: number,
): string {
  const lines: string[] = [];
  for (const metric of Object.keys(COUNTER_HELP) as Array<keyof typeof COUNTER_HELP>) {
    lines.push(`# HELP ${PREFIX}${metric} ${COUNTER_HELP[metric]}`, `# TYPE ${PREFIX}${metric} counter`);
    for (const counter of counters.filter((c) => c.metric === metric)) {
      lines.push(`${PREFIX}${metric}${formatLabels(counter.labels)} ${counter.delta}`);
    }
  }
  for (const histogram of HISTOGRAMS) renderHistogram(lines, histogram, counters);
  const models = [...new Set([...view.candidates.map((c) => c.name), ...Object.keys(view.breakers)])].sort();
  gauge(lines, "breaker_open", "1 when the model's circuit breaker is open, else 0.");
  for (const model of models) {
    const open = breakerPhase(view.breakers[model], breakerOptions, nowMs) === "open" ? 1 : 0;
    lines.push(`${PREFIX}breaker_open${formatLabels({ model })} ${open}`);
  }
  gauge(
    lines,
    "rollout_weight",
    "A rollout's candidate share of sessions, in percent (docs/contract.md §18): 0 once aborted, 100 once promoted.",
  );
  for (const rollout of view.rollouts ?? [])
    lines.push(`${PREFIX}rollout_weight${formatLabels({ rollout: rollout.id })} ${rollout.weight}`);
  const snapshotAge = feedAgeMs(view.utilization, nowMs);
  const allowlistAge = feedAgeMs(view.models, nowMs);
  gauge(lines, "snapshot_age_ms", "Age of the last successful utilization snapshot (NaN before the first).");
  lines.push(`${PREFIX}snapshot_age_ms ${snapshotAge ?? "NaN"}`);
  gauge(lines, "allowlist_age_ms", "Age of the last successful allowlist (NaN before the first).");
  lines.push(`${PREFIX}allowlist_age_ms ${allowlistAge ?? "NaN"}`);
  gauge(lines, "candidates", "Models currently eligible for the alias.");
  lines.push(`${PREFIX}candidates ${view.candidates.length}`);
  gauge(lines, "allowlist_size", "Models in the allowlist.");
  lines.push(`${PREFIX}allowlist_size ${view.allowlist.length}`);
  return `${lines.join("\n")}\n`;
}

/**
 * A per-model histogram from stored counters: per-bucket counts (made cumulative here, with `+Inf`), the sum
 * stored in milliseconds (shown in seconds), and the count.
 */
function renderHistogram(
  lines: string[],
  histogram: (typeof HISTOGRAMS)[number],
  counters: readonly CounterDelta[],
): void {
  const { name, help, buckets } = histogram;
  lines.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} histogram`);
  const total = (metric: CounterMetric, labels: Record<string, string>) =>
    counters
      .filter((c) => c.metric === metric && Object.entries(labels).every(([k, v]) => c.labels[k] === v))
      .reduce((sum, c) => sum + c.delta, 0);
  const models = [
    ...new Set(counters.filter((c) => c.metric === `${name}_count`).map((c) => c.labels.model ?? "")),
  ].sort();
  for (const model of models) {
    let cumulative = 0;
    for (const bound of [...buckets.map(String), "+Inf"]) {
      cumulative += total(`${name}_bucket`, { model, le: bound });
      lines.push(`${PREFIX}${name}_bucket${formatLabels({ model, le: bound })} ${cumulative}`);
    }
    lines.push(`${PREFIX}${name}_sum${formatLabels({ model })} ${total(`${name}_sum`, { model }) / 1000}`);
    lines.push(`${PREFIX}${name}_count${formatLabels({ model })} ${total(`${name}_count`, { model })}`);
  }
}

function gauge(lines: string[], name: string, help: string): void {
  lines.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} gauge`);
}

/** `{a="x",b="y"}` with values escaped as the format requires (backslash, quote, newline). */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  const body = entries
    .map(
      ([name, value]) =>
        `${name}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
    )
    .join(",");
  return `{${body}}`;
}
