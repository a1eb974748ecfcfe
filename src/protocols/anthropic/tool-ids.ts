// Tool-call ids across the two protocols (docs/contract.md §14). Anthropic ids must match ^[a-zA-Z0-9_-]+$,
// while upstream models send ids such as `functions.Bash:0` (Kimi on vLLM) that must come back to them
// exactly in the next turn. An id that already fits is kept as it is; any other, and any id that starts with
// the marker, is carried as the marker plus its UTF-8 bytes in base64url (whose alphabet fits), so decoding
// always returns the upstream id byte for byte.

const ANTHROPIC_ID = /^[a-zA-Z0-9_-]+$/;
const MARKER = "toolu_x_";

/** The Anthropic-side id for an upstream tool-call id. */
export function encodeToolId(upstreamId: string): string {
  if (ANTHROPIC_ID.test(upstreamId) && !upstreamId.startsWith(MARKER)) return upstreamId;
  return MARKER + toBase64Url(new TextEncoder().encode(upstreamId));
}

/** The upstream id an Anthropic-side id stands for. Ids the router did not encode pass unchanged. */
export function decodeToolId(anthropicId: string): string {
  if (!anthropicId.startsWith(MARKER)) return anthropicId;
  const bytes = fromBase64Url(anthropicId.slice(MARKER.length));
  return bytes === null ? anthropicId : new TextDecoder().decode(bytes);
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}
