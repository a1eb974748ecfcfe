// Where a client's sticky key comes from (docs/contract.md §5, §14): a Claude Code session when the request
// names one, else its Authorization value, else its IP. The shell hashes a session or token with SHA-256
// before it is used anywhere; neither is ever stored or logged raw.

export type StickySource = { kind: "auth"; token: string } | { kind: "ip"; ip: string } | null;

export interface StickyHeaders {
  /** A client session (Claude Code's), keyed like a token but kept apart from one. */
  session?: string | null;
  authorization: string | null;
  cfConnectingIp: string | null;
  xForwardedFor: string | null;
}

/** The client's token with surrounding space and a leading `Bearer ` removed; null when nothing is left. */
export function extractToken(authorization: string | null): string | null {
  if (authorization === null) return null;
  const token = authorization
    .trim()
    .replace(/^bearer(\s+|$)/i, "")
    .trim();
  return token === "" ? null : token;
}

/** The token if any, else the client IP (X-Forwarded-For's left-most entry only when trusted), else none. */
export function stickySource(headers: StickyHeaders, trustProxyHeaders: boolean): StickySource {
  const session = headers.session?.trim();
  if (session) return { kind: "auth", token: `session:${session}` };
  const token = extractToken(headers.authorization);
  if (token !== null) return { kind: "auth", token };
  const forwarded = trustProxyHeaders ? headers.xForwardedFor?.split(",")[0]?.trim() : undefined;
  const ip = forwarded || headers.cfConnectingIp?.trim();
  return ip ? { kind: "ip", ip } : null;
}

/** The key stored for a source, given the SHA-256 hex of the token. */
export function stickyKey(source: Exclude<StickySource, null>, tokenSha256Hex: string | null): string {
  return source.kind === "auth" ? `auth:${tokenSha256Hex}` : `ip:${source.ip}`;
}
