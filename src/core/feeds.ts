// Parses the two Chutes control-plane feeds (docs/contract.md §12). Unknown fields are ignored; a row with a wrong type is
// skipped alone and counted; a body of the wrong shape altogether (HTML, not an array, not a list) is a failure.
import * as v from "valibot";

const optionalNumber = v.nullish(v.pipe(v.number(), v.finite()));

const UTILIZATION_ROW = v.object({
  name: v.string(),
  chute_id: v.nullish(v.string()),
  utilization_current: optionalNumber,
  utilization_5m: optionalNumber,
  utilization_15m: optionalNumber,
  utilization_1h: optionalNumber,
  rate_limit_ratio_5m: optionalNumber,
  rate_limit_ratio_15m: optionalNumber,
  rate_limit_ratio_1h: optionalNumber,
  active_instance_count: v.pipe(v.number(), v.finite()),
  scalable: v.nullish(v.boolean()),
  scale_allowance: optionalNumber,
});

/** One utilization row with only the fields ranking reads. */
export type UtilizationRow = v.InferOutput<typeof UTILIZATION_ROW>;

const MODEL_ENTRY = v.looseObject({
  id: v.pipe(v.string(), v.nonEmpty()),
  confidential_compute: v.nullish(v.boolean()),
});

/** A model from `/v1/models`, with every upstream field kept for our own `/v1/models`. */
export type ModelEntry = v.InferOutput<typeof MODEL_ENTRY> & Record<string, unknown>;

const MODEL_LIST = v.object({ data: v.array(v.unknown()) });

export type FeedParse<T> = { ok: true; rows: T[]; skipped: number } | { ok: false; error: string };

/** Parses the utilization feed body: a JSON array of rows. */
export function parseUtilizationFeed(body: unknown): FeedParse<UtilizationRow> {
  if (!Array.isArray(body)) return { ok: false, error: "utilization feed is not a JSON array" };
  return keepValidRows(body, UTILIZATION_ROW);
}

/** Parses the models feed body: an OpenAI list `{ data: [...] }`; duplicate ids keep the first. */
export function parseModelsFeed(body: unknown): FeedParse<ModelEntry> {
  const list = v.safeParse(MODEL_LIST, body);
  if (!list.success) return { ok: false, error: "models feed is not an OpenAI list" };
  const parsed = keepValidRows(list.output.data, MODEL_ENTRY);
  if (!parsed.ok) return parsed;
  const seen = new Set<string>();
  const rows = parsed.rows.filter((row) => !seen.has(row.id) && seen.add(row.id));
  return { ok: true, rows: rows as ModelEntry[], skipped: parsed.skipped + parsed.rows.length - rows.length };
}

function keepValidRows<S extends v.GenericSchema>(
  rows: readonly unknown[],
  schema: S,
): FeedParse<v.InferOutput<S>> {
  const kept: v.InferOutput<S>[] = [];
  for (const row of rows) {
    const result = v.safeParse(schema, row);
    if (result.success) kept.push(result.output);
  }
  return { ok: true, rows: kept, skipped: rows.length - kept.length };
}
