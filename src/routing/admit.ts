// Stage 1, admit: is this client let in at all (docs/contract.md §6)? In managed mode the presented key must
// be one of ROUTER_API_KEYS, compared in constant time; in passthrough mode everyone is, and the upstream
// judges the client's own key. Runs before the body is read.
import { isAllowedKey } from "../core/api-keys.ts";
import type { Failure } from "../core/failure.ts";
import type { RoutingContext } from "./routing-context.ts";

/** Null when admitted, else the failure to answer with. */
export function admitRequest(ctx: RoutingContext, presentedKey: string | null): Failure | null {
  const keys = ctx.config.auth.routerApiKeys;
  if (keys.length > 0 && !isAllowedKey(presentedKey, keys))
    return { kind: "invalid_api_key", challenge: "none" };
  return null;
}

/** Whether upstream gets the router's own key rather than the client's. */
export function isManaged(ctx: RoutingContext): boolean {
  return ctx.config.auth.routerApiKeys.length > 0;
}
