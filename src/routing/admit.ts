// Stage 1, admit: is this client let in at all (docs/contract.md §6, §15)? In managed mode the presented key
// must be one of ROUTER_API_KEYS (compared in constant time; no limits), or, with ADMIN_API_KEY set, a live
// managed key, checked against this isolate's lease without a Durable Object call when the lease is warm. In
// passthrough mode everyone is, and the upstream judges the client's own key. Runs before the body is read.
import { isAllowedKey } from "../core/api-keys.ts";
import { type Failure, FailureError } from "../core/failure.ts";
import { MANAGED_KEY_PREFIX } from "../core/managed-key.ts";
import type { RequestLogFields } from "../core/request-log.ts";
import type { AdmittedKey } from "../isolate/key-leases.ts";
import type { RoutingContext } from "./routing-context.ts";

export type AdmitResult =
  | { ok: true; key: AdmittedKey | null; coldKey: boolean }
  | { ok: false; failure: Failure };

const INVALID_KEY: Failure = { kind: "invalid_api_key", challenge: "none" };

export async function admitRequest(ctx: RoutingContext, presentedKey: string | null): Promise<AdmitResult> {
  const { auth } = ctx.config;
  if (!auth.managed) return { ok: true, key: null, coldKey: false };
  if (presentedKey !== null && auth.adminApiKey !== null && presentedKey.startsWith(MANAGED_KEY_PREFIX)) {
    const hash = await ctx.isolate.hashes.of(presentedKey);
    const admission = await ctx.isolate.keys.admit(hash, ctx.startedMs, ctx.waitUntil);
    switch (admission.kind) {
      case "admitted":
        return { ok: true, key: admission.key, coldKey: admission.cold };
      case "unknown":
        return { ok: false, failure: INVALID_KEY };
      case "unavailable":
        return { ok: false, failure: { kind: "keys_unavailable" } };
    }
  }
  if (!isAllowedKey(presentedKey, auth.routerApiKeys)) return { ok: false, failure: INVALID_KEY };
  return { ok: true, key: null, coldKey: false };
}

/** Whether upstream gets the router's own key rather than the client's. */
export function isManaged(ctx: RoutingContext): boolean {
  return ctx.config.auth.managed;
}

/** Admits the client or throws its refusal; notes a managed key in the request's log line. */
export async function admitOrThrow(
  ctx: RoutingContext,
  presentedKey: string | null,
  log: { fields: RequestLogFields },
): Promise<AdmittedKey | null> {
  const admitted = await admitRequest(ctx, presentedKey);
  if (!admitted.ok) throw new FailureError(admitted.failure);
  if (admitted.key) {
    log.fields.keyId = admitted.key.id;
    log.fields.keyCold = admitted.coldKey;
  }
  return admitted.key;
}
