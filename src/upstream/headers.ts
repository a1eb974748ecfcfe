// What reaches Chutes from the client's headers (docs/contract.md §6): never hop-by-hop headers (RFC 9110 §7.6.1, plus any
// the client's Connection header names), `host`, `content-length`, `cookie`, `cf-*`, `x-forwarded-*`, or
// other client-address headers; in managed mode the router's upstream key replaces the client's Authorization.

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
const NEVER_FORWARDED = new Set([
  "host",
  "content-length",
  "cookie",
  "forwarded",
  "x-real-ip",
  "true-client-ip",
]);

/**
 * Upstream request headers built from the client's. `upstreamApiKey` set means managed mode. A plain record
 * (the client's Headers already joined repeated names), so building it makes no call into the runtime per
 * header; `fetch` converts it once per attempt.
 */
export function buildUpstreamHeaders(
  client: Headers,
  upstreamApiKey: string | undefined,
  traceparent?: string,
): Record<string, string> {
  const connection = client.get("connection");
  const named = connection
    ? new Set(
        connection
          .split(",")
          .map((name) => name.trim().toLowerCase())
          .filter(Boolean),
      )
    : null;
  const headers: Record<string, string> = {};
  for (const [name, value] of client) {
    if (HOP_BY_HOP.has(name) || NEVER_FORWARDED.has(name) || named?.has(name)) continue;
    if (name.startsWith("cf-") || name.startsWith("x-forwarded-")) continue;
    headers[name] = value;
  }
  if (upstreamApiKey !== undefined) headers.authorization = `Bearer ${upstreamApiKey}`;
  headers["content-type"] = "application/json";
  // The router's span of the client's trace (docs/contract.md §17), in place of the client's own.
  if (traceparent !== undefined) {
    headers.traceparent = traceparent;
    delete headers.tracestate;
  }
  return headers;
}
