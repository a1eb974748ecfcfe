// Managed-mode client keys (docs/contract.md §6), compared in constant time: every configured key is compared in full,
// whatever matches, so the time taken says nothing about which keys exist or how much of one matched.

import { extractToken } from "./sticky-key.ts";

const encoder = new TextEncoder();

/** Whether `presented` equals one of `keys`. */
export function isAllowedKey(presented: string | null, keys: readonly string[]): boolean {
  const candidate = encoder.encode(presented ?? "");
  let matched = 0;
  for (const key of keys) matched |= constantTimeEqual(candidate, encoder.encode(key)) ? 1 : 0;
  return presented !== null && matched === 1;
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * The key an operator presents on /status or /metrics: a Bearer (or bare) token, or the password of HTTP Basic
 * auth, so a browser's own login prompt works for the status page.
 */
export function presentedKey(authorization: string | null): string | null {
  const basic = authorization?.trim().match(/^basic\s+(\S+)$/i);
  if (!basic?.[1]) return extractToken(authorization);
  let decoded: string;
  try {
    decoded = atob(basic[1]);
  } catch {
    return null;
  }
  const separator = decoded.indexOf(":");
  const password = separator === -1 ? decoded : decoded.slice(separator + 1);
  return password === "" ? null : password;
}
