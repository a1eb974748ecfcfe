// The SHA-256 of the secrets this isolate has seen lately (client keys, sessions), so a returning client's
// sticky key and managed-key admission cost no digest: a request's key is hashed once per isolate rather than
// once per request. Bounded; the oldest is forgotten first. The secrets stay in this isolate's memory only,
// as the requests that carried them did, and are never written anywhere.
import { hashSecret } from "../core/managed-key.ts";

/** Secrets remembered per isolate. */
const MAX_SECRETS = 4096;

export interface SecretHashes {
  /** The secret's SHA-256 (hex), computed once. */
  of(secret: string): Promise<string>;
}

export function createSecretHashes(max = MAX_SECRETS): SecretHashes {
  const known = new Map<string, string>();
  return {
    async of(secret) {
      const cached = known.get(secret);
      if (cached !== undefined) return cached;
      const hash = await hashSecret(secret);
      if (known.size >= max) known.delete(known.keys().next().value as string);
      known.set(secret, hash);
      return hash;
    },
  };
}
