// GET /status/requests: the recent requests for a person in a browser (docs/contract.md §17), linked from the
// status page, and GET /status/requests/{id}: one record with its bodies when kept. Server-rendered, no client
// script. Records can hold prompts, so both need ADMIN_API_KEY (the browser's login prompt, HTTP Basic).
import { Hono } from "hono";
import { raw } from "hono/html";
import type { FC } from "hono/jsx";
import type { AppEnv } from "../app-env.ts";
import { FailureError } from "../core/failure.ts";
import { listRecords, type RecordView, type RecordWithBody, readRecord } from "../state/records-store.ts";
import { requireConfig } from "./config-guard.ts";
import { requireAdminKey } from "./operator-auth.ts";

const RECENT = 100;

const STYLE = `
:root { color-scheme: light dark; --bad: #c62828; --muted: #6b7280; --line: #d0d7de; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px; }
h1 { font-size: 1.3rem; margin: 0 0 8px; } h2 { font-size: 1.05rem; margin: 20px 0 6px; }
.muted { color: var(--muted); font-size: 0.85rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.num, th.num { text-align: right; }
.bad { color: var(--bad); font-weight: 600; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
@media (max-width: 640px) { body { padding: 8px; font-size: 12px; } .wide { display: none; } }
`;

const tokens = (record: RecordView) =>
  record.usage ? `${record.usage.prompt_tokens} / ${record.usage.completion_tokens}` : "";

const RecentPage: FC<{ records: RecordView[] }> = ({ records }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>Recent requests · Chutes AutoPilot</title>
      <style>{raw(STYLE)}</style>
    </head>
    <body>
      <h1>Recent requests</h1>
      <p class="muted">
        The {RECENT} newest records, newest first. <a href="/status">Status</a> · JSON:{" "}
        <code>GET /admin/records</code>, NDJSON: <code>GET /admin/records/export</code>.
      </p>
      <div class="scroll">
        <table id="records">
          <thead>
            <tr>
              <th>Time (UTC)</th>
              <th>Status</th>
              <th>Model</th>
              <th class="wide">Mode</th>
              <th class="wide">Key</th>
              <th class="wide">Session</th>
              <th class="num">TTFB ms</th>
              <th class="num">ms</th>
              <th class="num">Tokens in / out</th>
              <th class="num">USD</th>
              <th class="wide">Kept</th>
            </tr>
          </thead>
          <tbody>
            {records.map((record) => (
              <tr data-id={record.id}>
                <td>
                  <a href={`/status/requests/${encodeURIComponent(record.id)}`}>
                    {record.time.replace("T", " ").slice(0, 19)}
                  </a>
                </td>
                <td class={record.status >= 400 ? "bad" : ""}>
                  {record.status}
                  {record.error_code ? ` ${record.error_code}` : ""}
                </td>
                <td>{record.selected_model ?? record.requested_model ?? ""}</td>
                <td class="wide">{record.mode ?? ""}</td>
                <td class="wide">{record.key_id ?? ""}</td>
                <td class="wide">{record.session ?? ""}</td>
                <td class="num">{record.ttfb_ms ?? ""}</td>
                <td class="num">{record.duration_ms}</td>
                <td class="num">{tokens(record)}</td>
                <td class="num">{record.cost_usd === null ? "" : record.cost_usd.toFixed(6)}</td>
                <td class="wide">{record.bodies === "kept" ? record.level : "metadata"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {records.length === 0 ? <p class="muted">No records yet.</p> : null}
    </body>
  </html>
);

const RecordPage: FC<{ record: RecordWithBody }> = ({ record }) => {
  const { request, answer, ...facts } = record;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Request {record.id} · Chutes AutoPilot</title>
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <h1>Request {record.id}</h1>
        <p class="muted">
          <a href="/status/requests">Recent requests</a> · JSON: <code>GET /admin/records/{record.id}</code>
        </p>
        <h2>Routing</h2>
        <pre id="facts">{JSON.stringify(facts, null, 2)}</pre>
        {request === undefined ? (
          <p class="muted">No bodies kept ({record.bodies}).</p>
        ) : (
          <>
            <h2>Request</h2>
            <pre id="request">{JSON.stringify(request, null, 2)}</pre>
            <h2>Answer</h2>
            <pre id="answer">{JSON.stringify(answer, null, 2)}</pre>
          </>
        )}
      </body>
    </html>
  );
};

export const recordsPageRoutes = new Hono<AppEnv>();

recordsPageRoutes.get("/status/requests", requireConfig, requireAdminKey("basic"), async (c) => {
  const { data } = await listRecords(c.env.RECORDS_DB, {}, null, RECENT);
  return c.html(`<!doctype html>${(<RecentPage records={data} />).toString()}`);
});

recordsPageRoutes.get("/status/requests/:id", requireConfig, requireAdminKey("basic"), async (c) => {
  const record = await readRecord(c.env, c.req.param("id"));
  if (!record) throw new FailureError({ kind: "not_found", method: "GET", path: c.req.path });
  return c.html(`<!doctype html>${(<RecordPage record={record} />).toString()}`);
});
