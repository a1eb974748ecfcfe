// npm run rollouts -- <create|list|show|pause|resume|abort|promote|update>: a small CLI over the router's
// rollouts admin API (docs/contract.md §18). It reads ROUTER_URL (default http://127.0.0.1:8787) and
// ADMIN_API_KEY from the environment, never from the command line, so the admin key stays out of shell history.
import { adminClient, commandLine, exitWith, type OptionValues, printColumns } from "./cli.ts";

const USAGE = `usage: npm run rollouts -- <command> [options]

  create --name NAME --match MODEL --candidate TARGET [settings]
                        start splitting MODEL's traffic between itself and TARGET, step by step
  update ID [settings] [--name NAME] [--candidate TARGET]
                        change a rollout (its --match cannot change)
  list [--json]         the rollouts, with both arms' figures for the current step
  show ID [--json]      one rollout: its state, both arms side by side, and its history
  pause ID              hold the rollout at its current weight
  resume ID             go on after a pause, or re-arm an aborted rollout once its cooldown is over
  abort ID              send every request back to the baseline
  promote ID            send every request to the candidate
                        (these four print the new state; --json prints the rollout)

Settings: --steps 5,25,50,100 (percent)  --step-minutes N  --min-requests N  --min-sessions N
          --max-error-rate-increase F (0.01 = 1 point)  --max-ttft-p95-ratio F  --max-cost-ratio F
          --promote auto|manual  --cooldown-minutes N

Environment: ROUTER_URL (default http://127.0.0.1:8787), ADMIN_API_KEY (required).`;

const OPTIONS = {
  name: { type: "string" },
  match: { type: "string" },
  candidate: { type: "string" },
  steps: { type: "string" },
  "step-minutes": { type: "string" },
  "min-requests": { type: "string" },
  "min-sessions": { type: "string" },
  "max-error-rate-increase": { type: "string" },
  "max-ttft-p95-ratio": { type: "string" },
  "max-cost-ratio": { type: "string" },
  promote: { type: "string" },
  "cooldown-minutes": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = OptionValues<typeof OPTIONS>;
const { read, fail } = commandLine("rollouts", USAGE, OPTIONS);

const COMMANDS = ["create", "update", "list", "show", "pause", "resume", "abort", "promote"];

/** The number settings: option, body field. */
const NUMBERS = [
  ["step-minutes", "step_minutes"],
  ["min-requests", "min_requests"],
  ["min-sessions", "min_sessions"],
  ["max-error-rate-increase", "max_error_rate_increase"],
  ["max-ttft-p95-ratio", "max_ttft_p95_ratio"],
  ["max-cost-ratio", "max_cost_ratio"],
  ["cooldown-minutes", "cooldown_minutes"],
] as const;

type State = "running" | "paused" | "aborted" | "promoted";

interface Arm {
  requests: number;
  attempts: number;
  failures: number;
  error_rate: number | null;
  capacity: number;
  ttfb_p95_ms: number | null;
  cost_per_request_usd: number | null;
  sessions: number;
}

interface RolloutEvent {
  time: string;
  kind: string;
  state: State;
  weight: number;
  reason: string;
  figures: unknown;
}

interface Rollout {
  id: string;
  name: string;
  match: string;
  candidate: string;
  steps: number[];
  step_minutes: number;
  min_requests: number;
  min_sessions: number;
  max_error_rate_increase: number;
  max_ttft_p95_ratio: number;
  max_cost_ratio: number;
  promote: "auto" | "manual";
  cooldown_minutes: number;
  state: State;
  step: number;
  weight: number;
  step_started_at: string;
  awaiting_promotion: boolean;
  aborted_at: string | null;
  created_at: string;
  arms: { baseline: Arm; candidate: Arm };
  events?: RolloutEvent[];
}

async function main(argv: string[]): Promise<number> {
  const line = read(argv);
  if (typeof line === "number") return line;
  const { command, id, values } = line;
  if (!COMMANDS.includes(command)) return fail(`unknown command ${command}`);
  const admin = adminClient();
  if (!admin) return fail("ADMIN_API_KEY is not set");
  const { call } = admin;
  const needId = () => {
    if (!id) throw new Error(`${command} needs a rollout id (see: npm run rollouts -- list)`);
    return encodeURIComponent(id);
  };
  const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

  switch (command) {
    case "create": {
      const missing = (["name", "match", "candidate"] as const).filter((option) => !values[option]);
      if (missing.length > 0)
        return fail(`create needs ${missing.map((option) => `--${option}`).join(", ")}`);
      print(await call("POST", "/admin/rollouts", settingsBody(values)));
      return 0;
    }
    case "update": {
      if (values.match !== undefined)
        return fail("update cannot change --match: abort the rollout and create another");
      const path = `/admin/rollouts/${needId()}`;
      const body = settingsBody(values);
      if (Object.keys(body).length === 0) return fail("update needs at least one setting to change");
      print(await call("PATCH", path, body));
      return 0;
    }
    case "list": {
      const list = (await call("GET", "/admin/rollouts")) as { data: Rollout[] };
      if (values.json) print(list);
      else printTable(list.data);
      return 0;
    }
    case "show": {
      const rollout = (await call("GET", `/admin/rollouts/${needId()}`)) as Rollout;
      if (values.json) print(rollout);
      else printRollout(rollout);
      return 0;
    }
    case "pause":
    case "resume":
    case "abort":
    case "promote": {
      const rollout = (await call("POST", `/admin/rollouts/${needId()}/${command}`)) as Rollout;
      if (values.json) print(rollout);
      else console.log(`${rollout.id} (${rollout.name}): ${stateLine(rollout)}`);
      return 0;
    }
    default:
      return fail(`unknown command ${command}`);
  }
}

/** The create or update body: only the options given, as the admin API's types (the API validates them). */
function settingsBody(values: Values): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (values.name !== undefined) body.name = values.name;
  if (values.match !== undefined) body.match = values.match;
  if (values.candidate !== undefined) body.candidate = values.candidate;
  if (values.steps !== undefined)
    body.steps = values.steps.split(",").map((step) => number(step.trim().replace(/%$/, "")));
  for (const [option, field] of NUMBERS) {
    const text = values[option];
    if (text !== undefined) body[field] = number(text);
  }
  if (values.promote !== undefined) {
    if (values.promote !== "auto" && values.promote !== "manual")
      throw new Error(`--promote is auto or manual, not ${values.promote}`);
    body.promote = values.promote;
  }
  return body;
}

function number(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new Error(`not a number: ${text}`);
  return value;
}

/** `running · weight 25% · step 2/4`, with what else an operator should know about the state. */
function stateLine(rollout: Rollout): string {
  const parts = [rollout.state, `weight ${rollout.weight}%`, `step ${stepOf(rollout)}`];
  if (rollout.awaiting_promotion) parts.push("awaiting promotion (npm run rollouts -- promote ID)");
  if (rollout.state === "aborted" && rollout.aborted_at !== null) {
    const ready = Date.parse(rollout.aborted_at) + rollout.cooldown_minutes * 60_000;
    if (!Number.isNaN(ready)) parts.push(`can be re-armed from ${clock(new Date(ready).toISOString())} UTC`);
  }
  return parts.join(" · ");
}

/** The step as `i/n`, counting from 1. */
function stepOf(rollout: Rollout): string {
  return `${rollout.step + 1}/${rollout.steps.length}`;
}

function printTable(rollouts: Rollout[]): void {
  if (rollouts.length === 0) {
    console.error("no rollouts");
    return;
  }
  const arm = (arm: Arm) => [String(arm.requests), percent(arm.error_rate), dash(arm.ttfb_p95_ms)];
  const rows = rollouts.map((rollout) => [
    rollout.id,
    rollout.name,
    `${rollout.match} → ${rollout.candidate}`,
    rollout.awaiting_promotion ? `${rollout.state} (awaiting)` : rollout.state,
    `${rollout.weight}%`,
    stepOf(rollout),
    ...arm(rollout.arms.baseline),
    "|",
    ...arm(rollout.arms.candidate),
  ]);
  const header = [
    "id",
    "name",
    "match → candidate",
    "state",
    "weight",
    "step",
    "base req",
    "err%",
    "p95ms",
    "|",
    "cand req",
    "err%",
    "p95ms",
  ];
  const right = new Set([4, 5, 6, 7, 8, 10, 11, 12]);
  printColumns([header, ...rows], right);
}

function printRollout(rollout: Rollout): void {
  console.log(`rollout ${rollout.id} · ${rollout.name}`);
  console.log(`  split:    ${rollout.match} → ${rollout.candidate}`);
  console.log(`  state:    ${stateLine(rollout)}`);
  console.log(
    `  steps:    ${rollout.steps.map((step) => `${step}%`).join(" → ")}, ${rollout.step_minutes} min each`,
  );
  console.log(
    `  started:  ${clock(rollout.step_started_at)} UTC (this step; ${ago(rollout.step_started_at)})`,
  );
  console.log(`  created:  ${clock(rollout.created_at)} UTC`);
  console.log(
    `  guards:   error rate +${points(rollout.max_error_rate_increase)} · TTFT p95 ×${rollout.max_ttft_p95_ratio}` +
      ` · cost ×${rollout.max_cost_ratio} · floors ${rollout.min_requests} requests, ${rollout.min_sessions} sessions`,
  );
  console.log(`  promote:  ${rollout.promote} · cooldown ${rollout.cooldown_minutes} min after an abort`);

  console.log("\nthis step so far:");
  const { baseline, candidate } = rollout.arms;
  const usd = (value: number | null) => (value === null ? "-" : `$${value.toFixed(6)}`);
  const lines: Array<[string, (arm: Arm) => string]> = [
    ["requests", (arm) => String(arm.requests)],
    ["attempts", (arm) => String(arm.attempts)],
    ["failures", (arm) => String(arm.failures)],
    ["error rate", (arm) => percent(arm.error_rate)],
    ["capacity 429s", (arm) => String(arm.capacity)],
    ["TTFT p95 ms", (arm) => dash(arm.ttfb_p95_ms)],
    ["cost/request", (arm) => usd(arm.cost_per_request_usd)],
    ["sessions", (arm) => String(arm.sessions)],
  ];
  const rows = lines.map(([label, read]) => [`  ${label}`, read(baseline), read(candidate)]);
  printColumns(
    [["", `baseline (${rollout.match})`, `candidate (${rollout.candidate})`], ...rows],
    new Set([1, 2]),
  );

  const events = rollout.events ?? [];
  console.log("\nhistory:");
  if (events.length === 0) console.log("  (none)");
  for (const event of events)
    console.log(`  ${clock(event.time)} · ${event.kind} · ${event.weight}% · ${event.reason}`);
}

function dash(value: number | null): string {
  return value === null ? "-" : String(value);
}

/** A rate from 0 to 1 as a percentage with two decimals; `-` when there is none. */
function percent(rate: number | null): string {
  return rate === null ? "-" : `${(rate * 100).toFixed(2)}%`;
}

/** A fraction as percentage points: 0.01 → `1 pt`. */
function points(fraction: number): string {
  const value = Number((fraction * 100).toFixed(4));
  return `${value} pt${value === 1 ? "" : "s"}`;
}

/** How long ago an ISO time was, roughly. */
function ago(time: string): string {
  const ms = Date.now() - Date.parse(time);
  if (Number.isNaN(ms)) return "when unknown";
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 120) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h ago` : `${Math.round(hours / 24)} days ago`;
}

/** An ISO time as YYYY-MM-DD HH:MM:SS (UTC); as given when it does not parse. */
function clock(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

exitWith("rollouts", main(process.argv.slice(2)));
