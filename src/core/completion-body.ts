// Validates a completion request body just enough to route it (SPEC §8): a JSON object with a string `model`.
// Every other field is the upstream's business and passes through untouched.
import { RouterError } from "./router-error.ts";

/** The request's model, or a 400 RouterError (invalid_json, invalid_body, missing_model). */
export function readRequestedModel(rawBody: string): string {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    throw new RouterError(400, "invalid_request_error", "invalid_json", "The request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RouterError(
      400,
      "invalid_request_error",
      "invalid_body",
      "The request body must be a JSON object",
    );
  }
  const model = (body as { model?: unknown }).model;
  if (typeof model !== "string" || model.trim() === "") {
    throw new RouterError(
      400,
      "invalid_request_error",
      "missing_model",
      "The request body needs a `model` string",
      "model",
    );
  }
  return model;
}
