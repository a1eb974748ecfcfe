// HTTP details of the Anthropic ingress (docs/contract.md §14): the client's key comes as `x-api-key` or as
// `Authorization: Bearer`; upstream always gets `Authorization: Bearer` (in passthrough mode, the client's own
// Chutes key), never the Anthropic-only headers.
import { extractToken } from "../../core/sticky-key.ts";

/** Headers an Anthropic client sends that mean nothing upstream. */
const ANTHROPIC_ONLY = ["x-api-key", "anthropic-version", "anthropic-beta", "x-claude-code-session-id"];

/** The key the client presented: `x-api-key`, else a Bearer token. */
export function anthropicCredential(headers: Headers): string | null {
  const apiKey = headers.get("x-api-key")?.trim();
  return apiKey ? apiKey : extractToken(headers.get("authorization"));
}

/** The client's headers as the upstream should see them (hygiene still applies after this). */
export function anthropicUpstreamHeaders(client: Headers): Headers {
  const headers = new Headers(client);
  const apiKey = client.get("x-api-key")?.trim();
  for (const name of ANTHROPIC_ONLY) headers.delete(name);
  if (apiKey && !headers.has("authorization")) headers.set("authorization", `Bearer ${apiKey}`);
  return headers;
}
