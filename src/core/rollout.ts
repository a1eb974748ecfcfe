// Rollouts (docs/contract.md §18): what a rollout is, and which arm a session is in. A rollout sends a share of
// the sessions that ask for `match` to `candidate` instead of their usual routing (the baseline arm), raising
// the share step by step while the object that owns it judges both arms (core/rollout-judge.ts). The split is
// by session, never per request: a stable hash of (rollout id, sticky key) gives each session a bucket, and a
// session is in the candidate arm while its bucket is under the weight, so raising the weight only moves
// sessions from baseline to candidate and lowering it only moves them back. Pure.

export type ArmName = "baseline" | "candidate";
export type RolloutState = "running" | "paused" | "aborted" | "promoted";

export interface RolloutGuards {
  /** Largest error-rate increase of the candidate over the baseline tolerated, as a fraction (0.01 = 1 pp). */
  maxErrorRateIncrease: number;
  /** Largest candidate / baseline ratio of time to first byte p95. */
  maxTtftP95Ratio: number;
  /** Largest candidate / baseline ratio of cost per request. */
  maxCostRatio: number;
}

/** What an operator sets. */
export interface RolloutConfig {
  id: string;
  name: string;
  /** The `model` clients ask for (after the Claude model map) that this rollout splits. */
  match: string;
  /** Where the candidate arm goes: a model, a list `a,b` or an alias. */
  candidate: string;
  /** The candidate's share of sessions at each step, in percent, rising (default 5, 25, 50, 100). */
  steps: number[];
  stepMinutes: number;
  /** Samples each arm needs in a step before the step can be judged. */
  minRequests: number;
  minSessions: number;
  guards: RolloutGuards;
  promote: "auto" | "manual";
  /** How long an aborted rollout waits before it can be re-armed. */
  cooldownMinutes: number;
}

/** Where a rollout stands. */
export interface RolloutProgress {
  state: RolloutState;
  /** Index into `steps` of the current step. */
  step: number;
  /** The candidate's share now, in percent: steps[step] while running or paused, 0 aborted, 100 promoted. */
  weight: number;
  stepStartedMs: number;
  /** Set while running at the last step with `promote: "manual"` once it passed: waits for POST …/promote. */
  awaitingPromotion: boolean;
  abortedMs: number | null;
  createdMs: number;
  /** The reason the current step last held for, so a long hold is one event. */
  lastHold: string | null;
}

export type Rollout = RolloutConfig & RolloutProgress;

/** What the routing view carries of a rollout: enough to split a request without asking anyone. */
export interface RolloutRoute {
  id: string;
  match: string;
  candidate: string;
  weight: number;
  state: RolloutState;
}

export const DEFAULT_STEPS = [5, 25, 50, 100];
export const DEFAULT_GUARDS: RolloutGuards = {
  maxErrorRateIncrease: 0.01,
  maxTtftP95Ratio: 1.5,
  maxCostRatio: 1.3,
};

/** Buckets a session can fall in: a weight of w % is the buckets under w × 100. */
export const BUCKETS = 10_000;

/** FNV-1a, 32 bits: stable across isolates and releases, cheap, and spread well enough for bucketing. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // A final avalanche (from MurmurHash3's fmix32), so nearby keys land far apart.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** The session's bucket in this rollout, 0 … BUCKETS − 1. */
export function sessionBucket(rolloutId: string, stickyKey: string): number {
  return fnv1a(`${rolloutId}\u0000${stickyKey}`) % BUCKETS;
}

/** A short tag of a sticky key for counting a rollout's sessions: never the key (or an address) itself. */
export function sessionTag(stickyKey: string): string {
  return fnv1a(`session\u0000${stickyKey}`).toString(16).padStart(8, "0");
}

/** The arm a session is in. A request with no sticky key (no key, no address) stays on the baseline. */
export function armFor(
  route: Pick<RolloutRoute, "id" | "weight" | "state">,
  stickyKey: string | null,
): ArmName {
  if (route.state === "promoted") return "candidate";
  if (route.state === "aborted" || stickyKey === null) return "baseline";
  return sessionBucket(route.id, stickyKey) < route.weight * (BUCKETS / 100) ? "candidate" : "baseline";
}

/**
 * How requests for `model` are routed under the rollouts: `base`, what the baseline arm asks for (the model
 * itself, or the candidate of the latest rollout promoted on it), and `live`, the rollout splitting them now
 * (running or paused; at most one per match), if any.
 */
export function routeFor(
  routes: readonly RolloutRoute[] | undefined,
  model: string,
): { base: string; live: RolloutRoute | null } {
  let base = model;
  let live: RolloutRoute | null = null;
  for (const route of routes ?? []) {
    if (route.match !== model) continue;
    if (route.state === "promoted") base = route.candidate;
    else if (route.state === "running" || route.state === "paused") live = route;
  }
  return { base, live };
}
