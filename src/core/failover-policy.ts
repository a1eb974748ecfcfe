// The failover table of docs/contract.md §7 as data: which upstream answers move on to the next candidate, and what the
// client gets when one of them is the last attempt. Anything not listed here passes through untouched.

export type FailoverReason =
  | "upstream_connect_error"
  | "upstream_header_timeout"
  | "upstream_500"
  | "upstream_502"
  | "upstream_503"
  | "upstream_504"
  | "upstream_overloaded"
  | "upstream_first_body_byte_timeout"
  | "upstream_first_body_byte_error";

/**
 * How a status is handled before any body byte is read. `maybe_refused`: the statuses an engine refuses a
 * request that does not fit the model with (docs/contract.md §16); the body says whether it did.
 */
export type StatusClass =
  | "success"
  | "retryable_status"
  | "maybe_overloaded"
  | "maybe_refused"
  | "passthrough";

export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return "success";
  if (status === 500 || status === 502 || status === 503 || status === 504) return "retryable_status";
  if (status === 429) return "maybe_overloaded";
  if (status === 400 || status === 413 || status === 422) return "maybe_refused";
  return "passthrough";
}

export function statusReason(status: 500 | 502 | 503 | 504): FailoverReason {
  return `upstream_${status}`;
}

// Chutes' wording for "this chute cannot take work now" (research/COVERAGE_MATRIX.md), as opposed to a
// per-user rate limit, which is the client's to handle and passes through.
const OVERLOAD_MARKERS = ["infra_overload", "maximum capacity", "no_targets", "maintenance"];

/** Whether a 429 body says the chute is overloaded rather than the user rate-limited. */
export function isOverloadBody(body: string): boolean {
  const lower = body.toLowerCase();
  return OVERLOAD_MARKERS.some((marker) => lower.includes(marker));
}
