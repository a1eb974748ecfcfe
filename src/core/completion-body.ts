// Validates a request body just enough to route it (docs/contract.md §8): a JSON object with a string `model`.
// Every other field is the upstream's business. Failures come back as data.
import type { Failure } from "./failure.ts";

export type RequestedModel =
  | { ok: true; model: string; body: Record<string, unknown> }
  | { ok: false; failure: Failure };

/** The request's parsed body and model, or invalid_json / invalid_body / missing_model. */
export function readRequestedModel(rawBody: string): RequestedModel {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return { ok: false, failure: { kind: "invalid_json" } };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, failure: { kind: "invalid_body" } };
  }
  const model = (body as { model?: unknown }).model;
  if (typeof model !== "string" || model.trim() === "")
    return { ok: false, failure: { kind: "missing_model" } };
  return { ok: true, model, body: body as Record<string, unknown> };
}
