// Readiness verdict (docs/contract.md §10): the first failing check, in the contract's order.
import { feedAgeMs, type RoutingView } from "./snapshot.ts";

export type NotReadyCode =
  | "invalid_config"
  | "missing_allowlist"
  | "allowlist_empty"
  | "stale_allowlist"
  | "missing_snapshot"
  | "no_candidates"
  | "stale_snapshot";

export type Readiness = { ready: true } | { ready: false; code: NotReadyCode; message: string };

export interface ReadinessLimits {
  maxSnapshotAgeMs: number;
  maxAllowlistAgeMs: number;
}

/** Evaluates a (valid-config) routing view at `nowMs`. */
export function evaluateReadiness(view: RoutingView, limits: ReadinessLimits, nowMs: number): Readiness {
  const allowlistAge = feedAgeMs(view.models, nowMs);
  if (allowlistAge === null) return notReady("missing_allowlist", "the models feed has never been loaded");
  if (view.allowlist.length === 0) return notReady("allowlist_empty", "the models feed returned no models");
  if (allowlistAge > limits.maxAllowlistAgeMs) {
    return notReady("stale_allowlist", `the allowlist is ${allowlistAge} ms old`);
  }
  const snapshotAge = feedAgeMs(view.utilization, nowMs);
  if (snapshotAge === null) return notReady("missing_snapshot", "the utilization feed has never been loaded");
  if (view.candidates.length === 0) return notReady("no_candidates", "no model is eligible for routing");
  if (snapshotAge > limits.maxSnapshotAgeMs) {
    return notReady("stale_snapshot", `the utilization snapshot is ${snapshotAge} ms old`);
  }
  return { ready: true };
}

function notReady(code: NotReadyCode, message: string): Readiness {
  return { ready: false, code, message };
}
