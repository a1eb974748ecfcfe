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
const NEVER_FORWARDED_PREFIXES = ["cf-", "x-forwarded-"];

/** Upstream request headers built from the client's. `upstreamApiKey` set means managed mode. */
export function buildUpstreamHeaders(client: Headers, upstreamApiKey: string | undefined): Headers {
  const named = new Set(
    (client.get("connection") ?? "")
      .split(",")
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
  const headers = new Headers();
  for (const [name, value] of client) {
    if (HOP_BY_HOP.has(name) || NEVER_FORWARDED.has(name) || named.has(name)) continue;
    if (NEVER_FORWARDED_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    headers.append(name, value);
  }
  if (upstreamApiKey !== undefined) headers.set("authorization", `Bearer ${upstreamApiKey}`);
  headers.set("content-type", "application/json");
  return headers;
}
