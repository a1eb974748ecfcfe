// /admin/records and /admin/sessions (docs/contract.md §17): what the router recorded, read back by the
// operator with ADMIN_API_KEY: search the index, read one record with its bodies, rebuild a session's
// conversation, export as NDJSON, and erase a key's or a session's records. Mounted inside the admin routes,
// so the admin key check applies; /openapi.json documents them from the schemas here.
import { Hono } from "hono";
import { describeRoute, resolver, validator } from "hono-openapi";
import * as v from "valibot";
import type { AppEnv } from "../app-env.ts";
import { FailureError } from "../core/failure.ts";
import { sessionTurns } from "../core/session-turns.ts";
import {
  decodeCursor,
  eraseRecords,
  exportRecords,
  listRecords,
  type RecordFilter,
  readRecord,
  readSession,
} from "../state/records-store.ts";
import { invalidInput, jsonContent } from "./openapi-shared.ts";

const isoTime = (what: string) =>
  v.pipe(
    v.optional(v.pipe(v.string(), v.isoTimestamp(`must be an ISO 8601 date-time`))),
    v.description(what),
  );

const FILTERS = {
  key_id: v.pipe(
    v.optional(v.string()),
    v.description("Only this managed key's records; `-`: those made without a managed key."),
  ),
  session: v.pipe(v.optional(v.string()), v.description("Only this session's records.")),
  model: v.pipe(v.optional(v.string()), v.description("Only records that asked for or were answered by it.")),
  status: v.pipe(
    v.optional(v.pipe(v.string(), v.regex(/^\d{3}$/, "must be an HTTP status"), v.transform(Number))),
    v.description("Only records with this HTTP status."),
  ),
  from: isoTime("Only records at or after this time."),
  to: isoTime("Only records before this time."),
};

export const RECORD_QUERY = v.object({
  ...FILTERS,
  limit: v.pipe(
    v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+$/, "must be a whole number"),
        v.transform(Number),
        v.minValue(1, "must be at least 1"),
        v.maxValue(1000, "must be at most 1000"),
      ),
      "50",
    ),
    v.description("Records per page (default 50, at most 1000)."),
  ),
  cursor: v.pipe(v.optional(v.string()), v.description("The `next_cursor` of the previous page.")),
});

const EXPORT_QUERY = v.object({
  ...FILTERS,
  bodies: v.pipe(
    v.optional(v.picklist(["true", "false"], "must be true or false"), "false"),
    v.description("Include each record's bodies (when kept)."),
  ),
});

const ERASE_QUERY = v.object({ key_id: FILTERS.key_id, session: FILTERS.session });

const ATTEMPT = v.object({
  model: v.string(),
  outcome: v.string(),
  reason: v.nullable(v.string()),
  status: v.nullable(v.number()),
  ms: v.number(),
  stream_end: v.pipe(
    v.optional(v.string()),
    v.description("How this attempt's part of the answer ended, when a broken stream was resumed (§19)."),
  ),
});
const RECORD_VIEW = v.object({
  id: v.pipe(v.string(), v.description("The answer's x-request-id.")),
  object: v.literal("request_record"),
  time: v.string(),
  trace_id: v.pipe(v.string(), v.description("The W3C trace id (continued from the client's traceparent).")),
  key_id: v.nullable(v.string()),
  session: v.nullable(v.string()),
  protocol: v.picklist(["openai.chat", "openai.completions", "openai.responses", "anthropic.messages"]),
  route: v.string(),
  requested_model: v.nullable(v.string()),
  mode: v.nullable(v.string()),
  selected_model: v.nullable(v.string()),
  status: v.number(),
  stream_end: v.nullable(v.string()),
  ttfb_ms: v.nullable(v.number()),
  duration_ms: v.number(),
  usage: v.nullable(
    v.object({ prompt_tokens: v.number(), completion_tokens: v.number(), estimated: v.boolean() }),
  ),
  cost_usd: v.nullable(v.number()),
  error_code: v.nullable(v.string()),
  level: v.picklist(["metadata", "redacted", "full"]),
  bodies: v.pipe(
    v.picklist(["kept", "none", "redaction_failed"]),
    v.description(
      "Whether bodies were kept; `redaction_failed`: redaction failed, so none were (fail closed).",
    ),
  ),
  redactions: v.pipe(v.record(v.string(), v.number()), v.description("What redaction replaced, by kind.")),
  attempts: v.array(ATTEMPT),
});
const RECORD_WITH_BODY = v.object({
  ...RECORD_VIEW.entries,
  request: v.pipe(v.optional(v.unknown()), v.description("The client's body as recorded.")),
  answer: v.pipe(
    v.optional(v.unknown()),
    v.description("What the client was answered: text, reasoning, tool calls, finish reason."),
  ),
});
const RECORD_LIST = v.object({
  object: v.literal("list"),
  data: v.array(RECORD_VIEW),
  next_cursor: v.nullable(v.string()),
});

const ERRORS = {
  400: { description: "A query parameter is invalid (OpenAI error shape, code `invalid_request`)." },
  401: { description: "Missing or wrong admin key." },
  404: { description: "No such record or session, or the admin API is off (ADMIN_API_KEY unset)." },
};

function filterOf(
  query: v.InferOutput<typeof EXPORT_QUERY> | v.InferOutput<typeof RECORD_QUERY>,
): RecordFilter {
  const filter: RecordFilter = {};
  if (query.key_id !== undefined) filter.keyId = query.key_id;
  if (query.session !== undefined) filter.session = query.session;
  if (query.model !== undefined) filter.model = query.model;
  if (query.status !== undefined) filter.status = query.status;
  if (query.from !== undefined) filter.fromMs = Date.parse(query.from);
  if (query.to !== undefined) filter.toMs = Date.parse(query.to);
  return filter;
}

const notFound = (what: string): never => {
  throw new FailureError({ kind: "not_found", method: "GET", path: what });
};

export const recordRoutes = new Hono<AppEnv>();

recordRoutes.get(
  "/admin/records",
  describeRoute({
    tags: ["records"],
    summary: "Search the records, newest first",
    security: [{ adminKey: [] }],
    responses: { 200: jsonContent("A page of records.", RECORD_LIST), ...ERRORS },
  }),
  validator("query", RECORD_QUERY, invalidInput),
  async (c) => {
    const query = c.req.valid("query");
    const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor);
    if (query.cursor !== undefined && cursor === null)
      throw new FailureError({ kind: "invalid_request", message: "cursor: not a cursor this API gave" });
    const page = await listRecords(c.env.RECORDS_DB, filterOf(query), cursor, query.limit);
    return c.json({ object: "list" as const, data: page.data, next_cursor: page.next });
  },
);

recordRoutes.get(
  "/admin/records/export",
  describeRoute({
    tags: ["records"],
    summary: "Export the records as NDJSON, streamed, newest first",
    security: [{ adminKey: [] }],
    responses: {
      200: {
        description: "One record per line (with `request` and `answer` when bodies=true and kept).",
        content: { "application/x-ndjson": { schema: resolver(RECORD_WITH_BODY) } },
      },
      ...ERRORS,
    },
  }),
  validator("query", EXPORT_QUERY, invalidInput),
  (c) => {
    const query = c.req.valid("query");
    const records = exportRecords(c.env, filterOf(query), query.bodies === "true");
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await records.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
      },
      async cancel() {
        await records.return(undefined);
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "application/x-ndjson",
        "content-disposition": 'attachment; filename="records.ndjson"',
      },
    });
  },
);

recordRoutes.get(
  "/admin/records/:id",
  describeRoute({
    tags: ["records"],
    summary: "Read one record, with its bodies when its level kept them",
    security: [{ adminKey: [] }],
    responses: { 200: jsonContent("The record.", RECORD_WITH_BODY), ...ERRORS },
  }),
  async (c) => {
    const record = await readRecord(c.env, c.req.param("id"));
    return c.json(record ?? notFound(c.req.path));
  },
);

recordRoutes.delete(
  "/admin/records",
  describeRoute({
    tags: ["records"],
    summary: "Erase every record of a key or of a session: index rows, bodies and stored messages",
    security: [{ adminKey: [] }],
    responses: {
      200: jsonContent(
        "What was erased.",
        v.object({ object: v.literal("erasure"), records: v.number(), objects: v.number() }),
      ),
      ...ERRORS,
    },
  }),
  validator("query", ERASE_QUERY, invalidInput),
  async (c) => {
    const { key_id: keyId, session } = c.req.valid("query");
    if ((keyId === undefined) === (session === undefined))
      throw new FailureError({ kind: "invalid_request", message: "name exactly one of key_id and session" });
    const erased = await eraseRecords(
      c.env,
      keyId !== undefined ? { keyId } : { session: session as string },
    );
    return c.json({ object: "erasure" as const, ...erased });
  },
);

recordRoutes.get(
  "/admin/sessions/:id",
  describeRoute({
    tags: ["records"],
    summary: "A session's conversation rebuilt in order, with each turn's model, usage and cost",
    security: [{ adminKey: [] }],
    responses: { 200: { description: "The session." }, ...ERRORS },
  }),
  validator("query", v.object({ key_id: FILTERS.key_id }), invalidInput),
  async (c) => {
    const session = c.req.param("id");
    const records = await readSession(c.env, session, c.req.valid("query").key_id);
    if (records.length === 0) notFound(c.req.path);
    return c.json({ object: "session" as const, id: session, ...sessionTurns(records) });
  },
);
