// Validates a request body just enough to route it (docs/contract.md §8): a JSON object with a string `model`.
// Every other field is the upstream's business. Failures come back as data.
import * as v from "valibot";
import type { Failure } from "./failure.ts";

/**
 * What the router reads of an OpenAI completion body: a JSON object with a non-empty `model`. Every other
 * field is passed to the upstream as the client wrote it. /openapi.json documents the routes with it.
 */
export const COMPLETION_REQUEST = v.pipe(
  v.looseObject({
    model: v.pipe(
      v.string(),
      v.check((model) => model.trim() !== ""),
      v.description(
        "`chutesai/AutoPilot` (the best model now), `chutesai/AutoPilot-TEE`, an ordered list `a,b,c`, or one model.",
      ),
    ),
  }),
  v.description("An OpenAI request body; every field but `model` reaches the upstream unchanged."),
);

export type RequestedModel =
  | { ok: true; model: string; body: Record<string, unknown> }
  | { ok: false; failure: Failure };

export type JsonObjectBody = { ok: true; body: Record<string, unknown> } | { ok: false; failure: Failure };

/** A request body that must be a JSON object: the object, or invalid_json / invalid_body. */
export function readJsonObject(rawBody: string): JsonObjectBody {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return { ok: false, failure: { kind: "invalid_json" } };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, failure: { kind: "invalid_body" } };
  }
  return { ok: true, body: body as Record<string, unknown> };
}

/** The request's parsed body and model, or invalid_json / invalid_body / missing_model. */
export function readRequestedModel(rawBody: string): RequestedModel {
  const read = readJsonObject(rawBody);
  if (!read.ok) return read;
  const parsed = v.safeParse(COMPLETION_REQUEST, read.body);
  if (!parsed.success) return { ok: false, failure: { kind: "missing_model" } };
  return { ok: true, model: parsed.output.model, body: read.body };
}
