// How a request body refused by a valibot schema is named to the client, for every protocol that translates
// its body (Anthropic Messages, Responses): the field's path and what it must be, never the value sent (it may
// be part of a prompt).
import type * as v from "valibot";

// The deepest issue names the field best: a union's issue only says which alternatives it wanted, and its
// sub-issues carry paths relative to the union, so they are appended to the union's own path.
export function describeIssue(
  issue: v.BaseIssue<unknown> | undefined,
  prefix: readonly string[] = [],
): string {
  if (issue === undefined) return "body: is invalid";
  const path = [...prefix, ...(issue.path ?? []).map((item) => String(item.key))];
  const deeper = (issue.issues ?? []).filter((sub) => (sub.path?.length ?? 0) > 0);
  const deepest = deeper.sort((a, b) => (b.path?.length ?? 0) - (a.path?.length ?? 0))[0];
  if (deepest !== undefined) return describeIssue(deepest, path);
  // A missing key is reported by the object around it, whose message is about the object itself.
  const missing = issue.path?.at(-1)?.origin === "key";
  return `${path.length === 0 ? "body" : path.join(".")}: ${missing ? "is required" : issue.message}`;
}

/** A message for a schema without its own; never the received value, which may be part of a prompt. */
export function fallbackMessage(issue: v.BaseIssue<unknown>): string {
  return issue.expected == null ? "is invalid" : `must be ${issue.expected}`;
}
