// Where records live (docs/contract.md §17): the index in D1 (migrations/0001_records.sql), bodies in R2. Only
// the Queue's consumer writes, in batches; the request path only enqueues (protocols/recording.ts). Writing is
// idempotent by record id: a redelivered message writes nothing twice, and the index row is written last, so a
// record that can be read has every object it points to.
//
// R2 layout, one prefix per key and session so erasure is a prefix delete:
//   k/{key}/{scope}/b/{sha256}   a message, system prompt or tool list, stored once per session
//   k/{key}/{scope}/r/{id}.json  a record's body: the request's skeleton and the answer
//   spill/{id}.json              a queue message too large for the Queue, until the consumer has written it
// where {key} is the managed key's id (`-` without one) and {scope} is `s/{session}`, or `r/{id}` for a
// request without a session.
import type { AttemptRecord } from "../core/outcome.ts";
import {
  blobHashes,
  type Protocol,
  type RequestRecord,
  rebuildBody,
  type SplitBody,
  type StoredBody,
} from "../core/record.ts";

/** What the capture enqueues: the record, and its body when the level kept one. */
export interface RecordMessage {
  record: RequestRecord;
  body?: SplitBody;
}

/** A queue message: the record itself, or where it was spilled to when too large for the Queue. */
export type QueuedRecord = RecordMessage | { spill: string; id: string };

export interface RecordBindings {
  RECORDS_DB: D1Database;
  RECORDS_BUCKET: R2Bucket;
}

/** Largest message body the capture sends through the Queue as it is (the Queue takes 128 KB). */
export const QUEUE_MESSAGE_BYTES = 100_000;

export const spillKey = (id: string) => `spill/${id}.json`;

/** The R2 prefix a record's objects live under. */
export function scopeOf(record: Pick<RequestRecord, "id" | "keyId" | "session">): string {
  const key = encodeURIComponent(record.keyId ?? NO_KEY);
  const scope = record.session !== null ? `s/${encodeURIComponent(record.session)}` : `r/${record.id}`;
  return `k/${key}/${scope}`;
}

const blobKey = (scope: string, hash: string) => `${scope}/b/${hash}`;
const bodyKey = (scope: string, id: string) => `${scope}/r/${id}.json`;

// D1 takes at most 100 bound parameters per statement.
const HASHES_PER_QUERY = 90;

// Four parameters a row, within D1's 100 bound parameters per statement.
const BLOB_ROWS_PER_STATEMENT = 24;

function insertBlobRows(
  db: D1Database,
  scope: string,
  blobs: ReadonlyArray<readonly [hash: string, bytes: number]>,
  timeMs: number,
): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let start = 0; start < blobs.length; start += BLOB_ROWS_PER_STATEMENT) {
    const rows = blobs.slice(start, start + BLOB_ROWS_PER_STATEMENT);
    statements.push(
      db
        .prepare(
          `INSERT OR IGNORE INTO session_blobs (scope, hash, bytes, time_ms) VALUES ${rows.map(() => "(?, ?, ?, ?)").join(", ")}`,
        )
        .bind(...rows.flatMap(([hash, bytes]) => [scope, hash, bytes, timeMs])),
    );
  }
  return statements;
}

async function unspill(env: RecordBindings, queued: QueuedRecord): Promise<RecordMessage | null> {
  if (!("spill" in queued)) return queued;
  const object = await env.RECORDS_BUCKET.get(queued.spill);
  if (object) return object.json<RecordMessage>();
  // Gone: written and cleaned up by an earlier delivery of this message, or never stored.
  const row = await env.RECORDS_DB.prepare("SELECT 1 FROM records WHERE id = ?").bind(queued.id).first();
  if (row) return null;
  throw new Error(`record ${queued.id}: its spilled body is missing`);
}

async function knownBlobs(db: D1Database, scope: string, hashes: readonly string[]): Promise<Set<string>> {
  const known = new Set<string>();
  for (let start = 0; start < hashes.length; start += HASHES_PER_QUERY) {
    const slice = hashes.slice(start, start + HASHES_PER_QUERY);
    const marks = slice.map(() => "?").join(",");
    const { results } = await db
      .prepare(`SELECT hash FROM session_blobs WHERE scope = ? AND hash IN (${marks})`)
      .bind(scope, ...slice)
      .all<{ hash: string }>();
    for (const row of results) known.add(row.hash);
  }
  return known;
}

function insertRow(db: D1Database, r: RequestRecord, scope: string, storedBodyKey: string | null) {
  return db
    .prepare(
      `INSERT OR IGNORE INTO records (id, time_ms, trace_id, key_id, session, protocol, route, requested_model,
        mode, selected_model, status, stream_end, ttfb_ms, duration_ms, prompt_tokens, completion_tokens,
        usage_estimated, cost_usd, error_code, level, bodies, body_key, redactions, attempts, scope)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      r.id,
      r.timeMs,
      r.traceId,
      r.keyId,
      r.session,
      r.protocol,
      r.route,
      r.requestedModel,
      r.mode,
      r.selected,
      r.status,
      r.streamEnd,
      r.ttfbMs,
      r.durationMs,
      r.usage?.promptTokens ?? null,
      r.usage?.completionTokens ?? null,
      r.usage ? (r.usage.estimated ? 1 : 0) : null,
      r.costUsd,
      r.errorCode,
      r.level,
      storedBodyKey === null && r.bodies === "kept" ? "none" : r.bodies,
      storedBodyKey,
      JSON.stringify(r.redactions),
      JSON.stringify(r.attempts),
      scope,
    );
}

// ---- Reading ----

/** A row of the records table: the view's plain columns, and the rest as stored. */
interface RecordRow
  extends Pick<
    RecordView,
    | "id"
    | "trace_id"
    | "key_id"
    | "session"
    | "route"
    | "requested_model"
    | "mode"
    | "selected_model"
    | "status"
    | "stream_end"
    | "ttfb_ms"
    | "duration_ms"
    | "cost_usd"
    | "error_code"
    | "level"
    | "bodies"
  > {
  time_ms: number;
  protocol: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  usage_estimated: number | null;
  body_key: string | null;
  redactions: string | null;
  attempts: string;
  scope: string;
}

/** A record as the admin API shows it (snake_case, like the rest of the API). */
export interface RecordView {
  id: string;
  object: "request_record";
  time: string;
  trace_id: string;
  key_id: string | null;
  session: string | null;
  protocol: Protocol;
  route: string;
  requested_model: string | null;
  mode: string | null;
  selected_model: string | null;
  status: number;
  stream_end: string | null;
  ttfb_ms: number | null;
  duration_ms: number;
  usage: { prompt_tokens: number; completion_tokens: number; estimated: boolean } | null;
  cost_usd: number | null;
  error_code: string | null;
  level: string;
  bodies: string;
  redactions: Record<string, number>;
  attempts: Array<{
    model: string;
    outcome: string;
    reason: string | null;
    status: number | null;
    ms: number;
    hedge?: true;
    max_tokens?: number;
    stream_end?: string;
  }>;
}

/** What the client was answered, as the admin API shows it. */
export interface AnswerView {
  text: string;
  reasoning: string;
  tool_calls: Array<{ index: number; id: string | null; name: string; arguments: string }>;
  finish_reason: string | null;
  /** The answer was longer than what recording keeps. */
  truncated: boolean;
}

export interface RecordWithBody extends RecordView {
  /** The client's body as recorded (redacted at `redacted`), when the level kept bodies. */
  request?: unknown;
  answer?: AnswerView | null;
}

function answerView(answer: StoredBody["answer"]): AnswerView | null {
  if (!answer) return null;
  return {
    text: answer.text,
    reasoning: answer.reasoning,
    tool_calls: answer.toolCalls,
    finish_reason: answer.finishReason,
    truncated: answer.truncated,
  };
}

function toView(row: RecordRow): RecordView {
  const attempts = JSON.parse(row.attempts) as AttemptRecord[];
  return {
    id: row.id,
    object: "request_record",
    time: new Date(row.time_ms).toISOString(),
    trace_id: row.trace_id,
    key_id: row.key_id,
    session: row.session,
    protocol: row.protocol as Protocol,
    route: row.route,
    requested_model: row.requested_model,
    mode: row.mode,
    selected_model: row.selected_model,
    status: row.status,
    stream_end: row.stream_end,
    ttfb_ms: row.ttfb_ms,
    duration_ms: row.duration_ms,
    usage:
      row.prompt_tokens === null
        ? null
        : {
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens ?? 0,
            estimated: row.usage_estimated === 1,
          },
    cost_usd: row.cost_usd,
    error_code: row.error_code,
    level: row.level,
    bodies: row.bodies,
    redactions: row.redactions ? (JSON.parse(row.redactions) as Record<string, number>) : {},
    attempts: attempts.map((a) => ({
      model: a.model,
      outcome: a.outcome,
      reason: a.reason,
      status: a.status,
      ms: a.ms,
      ...(a.hedge ? { hedge: a.hedge } : {}),
      ...(a.maxTokens !== undefined ? { max_tokens: a.maxTokens } : {}),
      // An answer in several parts (a stream resumed mid-answer, docs/contract.md §19): how each part ended.
      ...(a.streamEnd !== undefined ? { stream_end: a.streamEnd } : {}),
    })),
  };
}

/** The `key_id` filter value that means "requests made without a managed key". */
export const NO_KEY = "-";

export interface RecordFilter {
  /** A managed key's id, or NO_KEY. */
  keyId?: string;
  session?: string;
  model?: string;
  status?: number;
  fromMs?: number;
  toMs?: number;
}

/** A position in the newest-first listing: after the record at (time, id). */
export interface Cursor {
  timeMs: number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return btoa(`${cursor.timeMs}:${cursor.id}`).replaceAll("=", "");
}

export function decodeCursor(text: string): Cursor | null {
  let decoded: string;
  try {
    decoded = atob(text);
  } catch {
    return null;
  }
  const separator = decoded.indexOf(":");
  const timeMs = Number(decoded.slice(0, separator));
  if (separator < 1 || !Number.isSafeInteger(timeMs)) return null;
  return { timeMs, id: decoded.slice(separator + 1) };
}

function whereOf(filter: RecordFilter, cursor: Cursor | null): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    clauses.push(sql);
    params.push(...values);
  };
  if (filter.keyId === NO_KEY) add("key_id IS NULL");
  else if (filter.keyId !== undefined) add("key_id = ?", filter.keyId);
  if (filter.session !== undefined) add("session = ?", filter.session);
  if (filter.model !== undefined)
    add("(selected_model = ? OR requested_model = ?)", filter.model, filter.model);
  if (filter.status !== undefined) add("status = ?", filter.status);
  if (filter.fromMs !== undefined) add("time_ms >= ?", filter.fromMs);
  if (filter.toMs !== undefined) add("time_ms < ?", filter.toMs);
  if (cursor) add("(time_ms < ? OR (time_ms = ? AND id < ?))", cursor.timeMs, cursor.timeMs, cursor.id);
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

/** A page of records, newest first, and the cursor of the next page (null on the last). */
export async function listRecords(
  db: D1Database,
  filter: RecordFilter,
  cursor: Cursor | null,
  limit: number,
): Promise<{ data: RecordView[]; next: string | null }> {
  const { sql, params } = whereOf(filter, cursor);
  const { results } = await db
    .prepare(`SELECT * FROM records ${sql} ORDER BY time_ms DESC, id DESC LIMIT ?`)
    .bind(...params, limit + 1)
    .all<RecordRow>();
  const page = results.slice(0, limit);
  const last = page.at(-1);
  const next = results.length > limit && last ? encodeCursor({ timeMs: last.time_ms, id: last.id }) : null;
  return { data: page.map(toView), next };
}

async function rowOf(db: D1Database, id: string): Promise<RecordRow | null> {
  return db.prepare("SELECT * FROM records WHERE id = ?").bind(id).first<RecordRow>();
}

/** Reads blobs once each, for the records of one answer. */
function blobReader(bucket: R2Bucket, scope: string) {
  const cache = new Map<string, Promise<unknown>>();
  return (hash: string) => {
    let blob = cache.get(hash);
    if (!blob) {
      blob = bucket.get(blobKey(scope, hash)).then((object) => (object ? object.json() : null));
      cache.set(hash, blob);
    }
    return blob;
  };
}

async function withBody(
  bucket: R2Bucket,
  row: RecordRow,
  blob: (hash: string) => Promise<unknown>,
): Promise<RecordWithBody> {
  const view: RecordWithBody = toView(row);
  if (row.body_key === null) return view;
  const object = await bucket.get(row.body_key);
  if (!object) return view;
  const stored = await object.json<StoredBody>();
  const hashes = blobHashes(stored.request);
  const blobs = new Map(await Promise.all(hashes.map(async (hash) => [hash, await blob(hash)] as const)));
  view.request = rebuildBody(stored.request, (hash) => blobs.get(hash));
  view.answer = answerView(stored.answer);
  return view;
}

/** One record with its bodies, or null when there is none with this id. */
export async function readRecord(env: RecordBindings, id: string): Promise<RecordWithBody | null> {
  const row = await rowOf(env.RECORDS_DB, id);
  if (!row) return null;
  return withBody(env.RECORDS_BUCKET, row, blobReader(env.RECORDS_BUCKET, row.scope));
}

/** Every record of a session, oldest first, with bodies; blobs read once for the whole session. */
export async function readSession(
  env: RecordBindings,
  session: string,
  keyId: string | undefined,
): Promise<RecordWithBody[]> {
  const filter = keyId === undefined ? "" : " AND key_id = ?";
  const { results } = await env.RECORDS_DB.prepare(
    `SELECT * FROM records WHERE session = ?${filter} ORDER BY time_ms ASC, id ASC LIMIT 1000`,
  )
    .bind(session, ...(keyId === undefined ? [] : [keyId]))
    .all<RecordRow>();
  const readers = new Map<string, ReturnType<typeof blobReader>>();
  const readerFor = (scope: string) => {
    let reader = readers.get(scope);
    if (!reader) {
      reader = blobReader(env.RECORDS_BUCKET, scope);
      readers.set(scope, reader);
    }
    return reader;
  };
  return Promise.all(results.map((row) => withBody(env.RECORDS_BUCKET, row, readerFor(row.scope))));
}

/** Every record matching `filter`, newest first, with bodies when `bodies`, one page at a time. */
export async function* exportRecords(
  env: RecordBindings,
  filter: RecordFilter,
  bodies: boolean,
): AsyncGenerator<RecordWithBody> {
  let cursor: Cursor | null = null;
  for (;;) {
    const { sql, params } = whereOf(filter, cursor);
    const { results } = await env.RECORDS_DB.prepare(
      `SELECT * FROM records ${sql} ORDER BY time_ms DESC, id DESC LIMIT 100`,
    )
      .bind(...params)
      .all<RecordRow>();
    for (const row of results)
      yield bodies
        ? await withBody(env.RECORDS_BUCKET, row, blobReader(env.RECORDS_BUCKET, row.scope))
        : toView(row);
    const last = results.at(-1);
    if (results.length < 100 || !last) return;
    cursor = { timeMs: last.time_ms, id: last.id };
  }
}

// ---- Erasure and retention ----

export interface Erased {
  records: number;
  objects: number;
}

/** Deletes every R2 object under `prefix`; returns how many. */
async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const listing = await bucket.list({ prefix, cursor, limit: 1000 });
    const keys = listing.objects.map((object) => object.key);
    if (keys.length > 0) await bucket.delete(keys);
    deleted += keys.length;
    cursor = listing.truncated ? listing.cursor : undefined;
  } while (cursor);
  return deleted;
}

/** Erases everything kept of a key's or a session's requests: index rows, bodies and blobs. */
export async function eraseRecords(
  env: RecordBindings,
  by: { keyId: string } | { session: string },
): Promise<Erased> {
  const db = env.RECORDS_DB;
  const prefixes =
    "keyId" in by
      ? [`k/${encodeURIComponent(by.keyId)}/`]
      : (
          await db
            .prepare("SELECT DISTINCT scope FROM records WHERE session = ?")
            .bind(by.session)
            .all<{ scope: string }>()
        ).results.map((row) => `${row.scope}/`);
  let objects = 0;
  for (const prefix of prefixes) objects += await deletePrefix(env.RECORDS_BUCKET, prefix);
  const rows =
    "session" in by
      ? db.prepare("DELETE FROM records WHERE session = ?").bind(by.session)
      : by.keyId === NO_KEY
        ? db.prepare("DELETE FROM records WHERE key_id IS NULL")
        : db.prepare("DELETE FROM records WHERE key_id = ?").bind(by.keyId);
  const [removed] = await db.batch([
    rows,
    ...prefixes.map((prefix) =>
      db.prepare("DELETE FROM session_blobs WHERE substr(scope, 1, ?) = ?").bind(prefix.length, prefix),
    ),
  ]);
  return { records: removed?.meta.changes ?? 0, objects };
}

/** Records removed per retention pass; the cron runs every minute and takes the rest next time. */
const RETENTION_BATCH = 500;

/**
 * Deletes records older than the retention period, their bodies, and the blobs of sessions left with no
 * record; also spilled messages a failed send left behind.
 */
export async function enforceRetention(
  env: RecordBindings,
  retentionDays: number,
  nowMs: number,
): Promise<Erased> {
  const db = env.RECORDS_DB;
  const cutoff = nowMs - retentionDays * 86_400_000;
  const { results } = await db
    .prepare("SELECT id, body_key FROM records WHERE time_ms < ? ORDER BY time_ms LIMIT ?")
    .bind(cutoff, RETENTION_BATCH)
    .all<{ id: string; body_key: string | null }>();
  const bodyKeys = results.flatMap((row) => (row.body_key ? [row.body_key] : []));
  if (bodyKeys.length > 0) await env.RECORDS_BUCKET.delete(bodyKeys);
  let records = 0;
  if (results.length > 0) {
    const deletions = [];
    for (let start = 0; start < results.length; start += HASHES_PER_QUERY) {
      const slice = results.slice(start, start + HASHES_PER_QUERY).map((row) => row.id);
      deletions.push(
        db.prepare(`DELETE FROM records WHERE id IN (${slice.map(() => "?").join(",")})`).bind(...slice),
      );
    }
    for (const outcome of await db.batch(deletions)) records += outcome.meta.changes;
  }
  // Sessions whose every record is gone: their blobs go too.
  const { results: orphans } = await db
    .prepare(
      `SELECT DISTINCT scope FROM session_blobs WHERE time_ms < ?
       AND scope NOT IN (SELECT scope FROM records WHERE scope IS NOT NULL) LIMIT 50`,
    )
    .bind(cutoff)
    .all<{ scope: string }>();
  let objects = bodyKeys.length;
  for (const { scope } of orphans) {
    objects += await deletePrefix(env.RECORDS_BUCKET, `${scope}/`);
    await db.prepare("DELETE FROM session_blobs WHERE scope = ?").bind(scope).run();
  }
  objects += await deleteOldSpills(env.RECORDS_BUCKET, nowMs - 86_400_000);
  return { records, objects };
}

async function deleteOldSpills(bucket: R2Bucket, beforeMs: number): Promise<number> {
  const listing = await bucket.list({ prefix: "spill/", limit: 1000 });
  const old = listing.objects.filter((object) => object.uploaded.getTime() < beforeMs).map((o) => o.key);
  if (old.length > 0) await bucket.delete(old);
  return old.length;
}

// ---- The Queue's consumer ----

/** R2 and D1 calls a consumer batch has in flight at once. */
const WRITE_CONCURRENCY = 8;

/** Runs `task` over `items`, at most WRITE_CONCURRENCY at a time. */
async function eachLimited<T>(items: readonly T[], task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, queue.length) }, worker));
}

interface Entry {
  message: Message<QueuedRecord>;
  /** The record to write; null when an earlier delivery wrote it. */
  record: RecordMessage | null;
  scope: string;
  bodyKey: string | null;
}

/**
 * The queue handler. A batch is written in steps, each idempotent: spilled messages are read back; each
 * session's stored blobs are asked of D1 once; every new blob is put to R2 once, then each record's body; last,
 * one D1 batch writes the new blobs' rows and every record's index row, and those messages are acked. A message
 * whose step failed is retried (with backoff) and written again from the start, which changes nothing already
 * written; a record's row is written only once all its objects are, so a readable record is whole.
 */
export async function consumeRecords(batch: MessageBatch<QueuedRecord>, env: RecordBindings): Promise<void> {
  const entries: Entry[] = [];
  await eachLimited(batch.messages, async (message) => {
    try {
      const record = await unspill(env, message.body);
      entries.push({ message, record, scope: record ? scopeOf(record.record) : "", bodyKey: null });
    } catch (error) {
      retry(message, error);
    }
  });
  const withBody = entries.filter((entry) => entry.record?.body);
  const known = await knownByScope(env.RECORDS_DB, withBody);
  const puts = new Map<string, { scope: string; hash: string; bytes: number; done: Promise<void> }>();
  const putOnce = (scope: string, hash: string, text: string) => {
    const key = blobKey(scope, hash);
    let put = puts.get(key);
    if (!put) {
      put = { scope, hash, bytes: text.length, done: env.RECORDS_BUCKET.put(key, text).then(() => {}) };
      put.done.catch(() => {});
      puts.set(key, put);
    }
    return put.done;
  };
  const failed = new Set<Entry>();
  await eachLimited(withBody, async (entry) => {
    const body = entry.record?.body;
    try {
      const stored = known.get(entry.scope);
      if (!body || !stored) throw new Error("could not tell which blobs the session has stored");
      const fresh = body.blobs.filter(([hash]) => !stored.has(hash));
      await Promise.all(fresh.map(([hash, text]) => putOnce(entry.scope, hash, text)));
      const key = bodyKey(entry.scope, entry.record?.record.id ?? "");
      await env.RECORDS_BUCKET.put(key, JSON.stringify(body.stored));
      entry.bodyKey = key;
    } catch (error) {
      failed.add(entry);
      retry(entry.message, error);
    }
  });
  const written = entries.filter((entry) => !failed.has(entry));
  const blobRows = await storedBlobRows(env.RECORDS_DB, [...puts.values()], written);
  const rows = written.flatMap((entry) =>
    entry.record ? [insertRow(env.RECORDS_DB, entry.record.record, entry.scope, entry.bodyKey)] : [],
  );
  try {
    if (blobRows.length + rows.length > 0) await env.RECORDS_DB.batch([...blobRows, ...rows]);
  } catch (error) {
    for (const { message } of written) retry(message, error);
    return;
  }
  for (const { message } of written) message.ack();
  const spills = written.flatMap(({ message }) => ("spill" in message.body ? [message.body.spill] : []));
  // A spill left behind is harmless: the next delivery finds the row written, and retention removes it.
  if (spills.length > 0) await env.RECORDS_BUCKET.delete(spills).catch(() => {});
}

/** Per session scope, the blob hashes it has stored already: one D1 question per scope in the batch. */
async function knownByScope(db: D1Database, entries: readonly Entry[]): Promise<Map<string, Set<string>>> {
  const hashes = new Map<string, Set<string>>();
  for (const entry of entries) {
    const set = hashes.get(entry.scope) ?? new Set<string>();
    for (const [hash] of entry.record?.body?.blobs ?? []) set.add(hash);
    hashes.set(entry.scope, set);
  }
  const known = new Map<string, Set<string>>();
  await eachLimited([...hashes], async ([scope, set]) => {
    try {
      known.set(scope, await knownBlobs(db, scope, [...set]));
    } catch {
      // The scope's records are retried (no known set).
    }
  });
  return known;
}

/** Rows for the blobs this batch put that a written record holds (a put that failed has no row). */
async function storedBlobRows(
  db: D1Database,
  puts: ReadonlyArray<{ scope: string; hash: string; bytes: number; done: Promise<void> }>,
  written: readonly Entry[],
): Promise<D1PreparedStatement[]> {
  const timeOf = new Map(written.map((entry) => [entry.scope, entry.record?.record.timeMs ?? 0]));
  const byScope = new Map<string, Array<readonly [string, number]>>();
  for (const put of puts) {
    const ok = await put.done.then(
      () => true,
      () => false,
    );
    if (!ok || !timeOf.has(put.scope)) continue;
    byScope.set(put.scope, [...(byScope.get(put.scope) ?? []), [put.hash, put.bytes] as const]);
  }
  return [...byScope].flatMap(([scope, rows]) => insertBlobRows(db, scope, rows, timeOf.get(scope) ?? 0));
}

function retry(message: Message<QueuedRecord>, error: unknown): void {
  console.warn(
    JSON.stringify({
      event: "record_write_failed",
      attempts: message.attempts,
      message: error instanceof Error ? error.message : String(error),
    }),
  );
  message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
}
