// Managed-mode client keys (SPEC §6), compared in constant time: every configured key is compared in full,
// whatever matches, so the time taken says nothing about which keys exist or how much of one matched.

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
