// The two control-plane feeds (`utilization`, `models`): their scriptable state, the check that turns admin
// JSON into it, and the reply for each mode. Default rows come from catalogue.ts.
import type { ServerResponse } from "node:http";
import type { ParseResult } from "./behaviors.ts";
import { detailBody, MAINTENANCE_HTML, nginxErrorPage } from "./error-bodies.ts";
import { isRecord, sendText } from "./http-io.ts";

export type FeedName = "utilization" | "models";

/** `ok` JSON, `fail` FastAPI error, `html` error page, `silent` accepts the request and never answers. */
export type FeedMode = "ok" | "fail" | "html" | "silent";

export type FeedState = {
  mode: FeedMode;
  /** `ok` only: replaces the default rows (for `models`, the `data` items). Any JSON, so bad rows can be served. */
  rows?: unknown[];
  /** Default 200 for `ok`, 500 for `fail`, 502 for `html` (200 serves a maintenance page). */
  status?: number;
  /** Raw body sent instead of the default one, e.g. truncated JSON (ignored by `silent`). */
  body?: string;
  contentType?: string;
};

export const FEED_NAMES: readonly FeedName[] = ["utilization", "models"];
export const FEED_MODES: readonly FeedMode[] = ["ok", "fail", "html", "silent"];
export const FEED_OK: FeedState = { mode: "ok" };

/** Checks `{feed, mode, rows?, status?, body?, contentType?}` from the admin endpoint. */
export function parseFeedCommand(input: unknown): ParseResult<{ feed: FeedName; state: FeedState }> {
  if (!isRecord(input)) return { ok: false, error: "feed command must be a JSON object" };
  const { feed, ...state } = input;
  const name = FEED_NAMES.find((candidate) => candidate === feed);
  if (name === undefined) return { ok: false, error: `feed must be one of: ${FEED_NAMES.join(", ")}` };
  const parsed = parseFeedState(state);
  return parsed.ok ? { ok: true, value: { feed: name, state: parsed.value } } : parsed;
}

export function parseFeedState(input: unknown): ParseResult<FeedState> {
  if (!isRecord(input)) return { ok: false, error: "feed state must be a JSON object" };
  const { mode, rows, status, body, contentType, ...rest } = input;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) return { ok: false, error: `${extra} is not a field of a feed state` };
  const feedMode = FEED_MODES.find((candidate) => candidate === mode);
  if (feedMode === undefined) return { ok: false, error: `mode must be one of: ${FEED_MODES.join(", ")}` };
  if (rows !== undefined && !Array.isArray(rows)) return { ok: false, error: "rows must be an array" };
  const statusOk =
    typeof status === "number" && Number.isSafeInteger(status) && status >= 200 && status <= 599;
  if (status !== undefined && !statusOk) {
    return { ok: false, error: "status must be an HTTP status from 200 to 599" };
  }
  if (body !== undefined && typeof body !== "string") return { ok: false, error: "body must be a string" };
  if (contentType !== undefined && typeof contentType !== "string") {
    return { ok: false, error: "contentType must be a string" };
  }
  const state: FeedState = { mode: feedMode };
  if (rows !== undefined) state.rows = rows;
  if (typeof status === "number") state.status = status;
  if (body !== undefined) state.body = body;
  if (contentType !== undefined) state.contentType = contentType;
  return { ok: true, value: state };
}

/** Answers a feed request according to `state`; `silent` leaves the request open until the client leaves. */
export function respondToFeed(
  res: ServerResponse,
  feed: FeedName,
  state: FeedState,
  defaultRows: () => unknown[],
): void {
  const reply = defaultReply(feed, state, defaultRows);
  if (reply === null) return;
  sendText(
    res,
    state.status ?? reply.status,
    state.contentType ?? reply.contentType,
    state.body ?? reply.body,
  );
}

type Reply = { status: number; contentType: string; body: string };

function defaultReply(feed: FeedName, state: FeedState, defaultRows: () => unknown[]): Reply | null {
  switch (state.mode) {
    case "silent":
      return null;
    case "ok": {
      const rows = state.rows ?? defaultRows();
      const body = JSON.stringify(feed === "models" ? { object: "list", data: rows } : rows);
      return { status: 200, contentType: "application/json", body };
    }
    case "fail":
      return { status: 500, contentType: "application/json", body: detailBody("Internal server error") };
    case "html": {
      const status = state.status ?? 502;
      return {
        status,
        contentType: "text/html",
        body: status < 300 ? MAINTENANCE_HTML : nginxErrorPage(status),
      };
    }
  }
}
