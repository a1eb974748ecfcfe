// The human status page (Hono JSX, server-rendered, no client script): readiness, feed ages, the ranked
// candidates with score, utilization, instances, observed time to first token and failure rate, and breaker
// phase, and recent failover reasons. It reloads
// itself every few seconds and reads on a phone as well as a desktop.
import { raw } from "hono/html";
import type { FC } from "hono/jsx";
import type { KeyView } from "./admin-schemas.ts";
import type { RolloutView } from "./rollouts.ts";
import type { FeedSummary, StatusModel } from "./status-model.ts";

export const STATUS_REFRESH_SECONDS = 5;

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; --muted: #6b7280; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1100px; padding: 16px; }
h1 { font-size: 1.35rem; margin: 0 0 4px; }
h2 { font-size: 1.05rem; margin: 24px 0 8px; }
.muted { color: var(--muted); font-size: 0.85rem; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 600; color: #fff; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 10px; }
.cards + .cards { margin-top: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .value { font-size: 1.3rem; font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.num, th.num { text-align: right; }
td.model { white-space: normal; overflow-wrap: anywhere; }
.short { display: none; }
.health-degraded, .health-recheck { color: var(--warn); font-weight: 600; }
.phase-closed { color: var(--ok); } .phase-open { color: var(--bad); font-weight: 600; } .phase-half_open { color: var(--warn); }
@media (max-width: 640px) {
  body { padding: 10px; font-size: 13px; }
  .wide { display: none; } .long { display: none; } .short { display: inline; }
  th, td { padding: 5px 3px; }
}
`;

function formatAge(ms: number | null): string {
  if (ms === null) return "never";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** A token count as people read windows: 40960 → "40k", 262144 → "256k", 1048576 → "1M"; blank when unknown. */
function formatTokens(tokens: number | null): string {
  if (tokens === null) return "";
  if (tokens >= 1_048_576) return `${Math.round(tokens / 1_048_576)}M`;
  return tokens >= 1024 ? `${Math.round(tokens / 1024)}k` : String(tokens);
}

function formatTtft(recentMs: number | null, baselineMs: number | null, health: string): string {
  if (recentMs === null) return "";
  const text = `${formatAge(Math.round(recentMs))}${baselineMs === null ? "" : ` (${formatAge(baselineMs)})`}`;
  return health === "healthy" ? text : `${text} ${health}`;
}

const FeedCard: FC<{ title: string; feed: FeedSummary }> = ({ title, feed }) => (
  <div class="card" data-feed={title}>
    <div class="muted">{title}</div>
    <div class="value">{formatAge(feed.ageMs)}</div>
    <div class="muted">
      {feed.lastError ? `last attempt failed: ${feed.lastError}` : "last attempt ok"}
      {feed.skippedRows > 0 ? ` · ${feed.skippedRows} rows skipped` : ""}
    </div>
  </div>
);

const limitText = (value: number | null, unit: string) => (value === null ? "" : `${value} ${unit}`);

/** The operator's view of managed keys: who spent what against which budget, and how much they use. */
const pct = (rate: number | null) => (rate === null ? "–" : `${(rate * 100).toFixed(2)} %`);

const RolloutsSection: FC<{ rollouts: RolloutView[] }> = ({ rollouts }) => (
  <>
    <h2>Rollouts</h2>
    {rollouts.map((rollout) => (
      <div class="scroll" data-rollout={rollout.id}>
        <p>
          <strong>{rollout.name}</strong>: <code>{rollout.match}</code> → <code>{rollout.candidate}</code>,{" "}
          <span class={rollout.state === "aborted" ? "phase-open" : "phase-closed"} data-state>
            {rollout.state}
          </span>{" "}
          at <span data-weight>{rollout.weight}</span> % (step {rollout.step + 1} of {rollout.steps.length},
          since {rollout.step_started_at})
        </p>
        <table class="arms">
          <thead>
            <tr>
              <th>arm</th>
              <th class="num">requests</th>
              <th class="num">error rate</th>
              <th class="num wide">capacity 429s</th>
              <th class="num">TTFT p95</th>
              <th class="num wide">USD / request</th>
              <th class="num wide">sessions</th>
            </tr>
          </thead>
          <tbody>
            {(["baseline", "candidate"] as const).map((name) => {
              const arm = rollout.arms[name];
              return (
                <tr data-arm={name}>
                  <td>{name}</td>
                  <td class="num">{arm.requests}</td>
                  <td class="num">{pct(arm.error_rate)}</td>
                  <td class="num wide">{arm.capacity}</td>
                  <td class="num">{arm.ttfb_p95_ms === null ? "–" : `${arm.ttfb_p95_ms} ms`}</td>
                  <td class="num wide">
                    {arm.cost_per_request_usd === null ? "–" : arm.cost_per_request_usd.toFixed(6)}
                  </td>
                  <td class="num wide">{arm.sessions}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <ul class="muted events">
          {(rollout.events ?? []).map((event) => (
            <li data-kind={event.kind}>
              {event.time} {event.kind} at {event.weight} %: {event.reason}
            </li>
          ))}
        </ul>
      </div>
    ))}
  </>
);

const KeysTable: FC<{ keys: KeyView[] }> = ({ keys }) => (
  <>
    <h2>Managed keys</h2>
    {keys.length === 0 ? (
      <p class="muted" id="keys">
        None yet: <code>npm run keys -- create --name …</code>
      </p>
    ) : (
      <div class="scroll">
        <table id="keys">
          <thead>
            <tr>
              <th>prefix</th>
              <th>name</th>
              <th>status</th>
              <th class="num">spend / budget (USD)</th>
              <th class="num">requests</th>
              <th class="num wide">tokens in / out</th>
              <th class="wide">last used</th>
              <th class="wide">limits</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr data-key={key.id}>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td class="model">{key.name}</td>
                <td class={key.status === "active" ? "phase-closed" : "phase-open"}>{key.status}</td>
                <td class="num">
                  {key.spend.usd.toFixed(4)} /{" "}
                  {key.budget_usd === null ? "∞" : `${key.budget_usd} per ${key.budget_period}`}
                </td>
                <td class="num">{key.usage.requests}</td>
                <td class="num wide">
                  {key.usage.prompt_tokens} / {key.usage.completion_tokens}
                </td>
                <td class="wide">{key.last_used_at ?? "never"}</td>
                <td class="wide">
                  {[
                    limitText(key.rpm, "rpm"),
                    limitText(key.tpm, "tpm"),
                    limitText(key.max_concurrency, "in flight"),
                    key.models === null ? "" : key.models.join(", "),
                  ]
                    .filter((part) => part !== "")
                    .join("; ") || "none"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </>
);

export const StatusPage: FC<{ model: StatusModel }> = ({ model }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta http-equiv="refresh" content={String(STATUS_REFRESH_SECONDS)} />
      <title>Chutes AutoPilot status</title>
      <style>{raw(STYLE)}</style>
    </head>
    <body>
      <h1>Chutes AutoPilot</h1>
      <p>
        <span id="readiness" class={model.ready ? "badge ok" : "badge bad"}>
          {model.ready ? "ready" : `not ready: ${model.notReadyCode}`}
        </span>{" "}
        <span class="muted">{model.ready ? "" : model.notReadyMessage}</span>
      </p>
      <div class="cards">
        <FeedCard title="utilization snapshot age" feed={model.feeds.utilization} />
        <FeedCard title="allowlist age" feed={model.feeds.models} />
        <div class="card">
          <div class="muted">candidates / allowlist</div>
          <div class="value" id="counts">
            {model.counts.candidates} / {model.counts.allowlist}
          </div>
        </div>
      </div>

      <div class="cards" id="aliases">
        {model.aliases.map((alias) => (
          <div class="card" data-alias={alias.id}>
            <div class="muted">{alias.id}: largest window (with tools)</div>
            <div class="value">
              {formatTokens(alias.windowTokens)} ({formatTokens(alias.windowTokensWith.tools ?? null)})
            </div>
          </div>
        ))}
      </div>

      <h2>Ranked candidates</h2>
      <div class="scroll">
        <table id="candidates">
          <thead>
            <tr>
              <th class="num">#</th>
              <th>model</th>
              <th class="num">score</th>
              <th class="num">
                <span class="long">utilization</span>
                <span class="short">util</span>
              </th>
              <th class="num">
                <span class="long">instances</span>
                <span class="short">inst</span>
              </th>
              <th class="num wide">rate-limited</th>
              <th class="wide">TEE</th>
              <th class="num wide" title="median of the last few streamed answers; baseline in brackets">
                TTFT
              </th>
              <th class="num wide">failures</th>
              <th class="num wide" title="context window, tokens; * learned from the engine's refusal">
                window
              </th>
              <th class="wide">serves</th>
              <th
                class="num wide"
                title="broken answers this model continued, and (after the slash) ones it started over instead"
              >
                resumes
              </th>
              <th>breaker</th>
            </tr>
          </thead>
          <tbody>
            {model.candidates.map((c) => (
              <tr data-model={c.name}>
                <td class="num">{c.rank}</td>
                <td class="model">{c.name}</td>
                <td class="num">{c.score.toFixed(2)}</td>
                <td class="num">{(c.utilization * 100).toFixed(1)}%</td>
                <td class="num">{c.activeInstances}</td>
                <td class="num wide">{(c.rateLimitRatio * 100).toFixed(1)}%</td>
                <td class="wide">{c.confidentialCompute ? "yes" : ""}</td>
                <td class={`num wide health-${c.health}`} data-health={c.health}>
                  {formatTtft(c.recentTtfbMs, c.baselineTtfbMs, c.health)}
                </td>
                <td class="num wide">
                  {c.failureRate === null ? "" : `${(c.failureRate * 100).toFixed(0)}%`}
                </td>
                <td class="num wide" data-window={c.windowTokens ?? ""}>
                  {formatTokens(c.windowTokens)}
                  {c.learnedWindowTokens === null ? "" : "*"}
                </td>
                <td class="wide">{c.serves.join(" ")}</td>
                <td class="num wide" data-resumes={c.resumes.resumed}>
                  {c.resumes.resumed + c.resumes.restarted === 0
                    ? ""
                    : `${c.resumes.resumed} / ${c.resumes.restarted}`}
                </td>
                <td class={`phase-${c.breaker}`}>{c.breaker.replace("_", "-")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {model.candidates.length === 0 ? <p class="muted">No model is eligible right now.</p> : null}

      <h2>Failovers in the last {Math.round(model.recentFailovers.windowMs / 60_000)} minutes</h2>
      {model.recentFailovers.reasons.length === 0 ? (
        <p class="muted" id="failovers">
          None.
        </p>
      ) : (
        <table id="failovers">
          <tbody>
            {model.recentFailovers.reasons.map((r) => (
              <tr data-reason={r.reason}>
                <td>{r.reason}</td>
                <td class="num">{r.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {model.rollouts ? <RolloutsSection rollouts={model.rollouts} /> : null}
      {model.keys ? <KeysTable keys={model.keys} /> : null}
      <p class="muted">
        Generated {model.generatedAt}; refreshes every {STATUS_REFRESH_SECONDS} s. JSON: send{" "}
        <code>Accept: application/json</code>. Metrics: <code>/metrics</code>.
        {model.keys ? (
          <>
            {" "}
            <a id="recent-requests" href="/status/requests">
              Recent requests
            </a>
            .
          </>
        ) : null}
      </p>
    </body>
  </html>
);
