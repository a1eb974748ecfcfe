// Everything an isolate keeps between requests, in one place: the routing view and model caches, the sticky
// cache, the half-open probes it holds, the outcome and record queues, the managed keys' leases and the
// models' learned limits. Kept per Worker env in a WeakMap (an isolate gets the same env object on every request), so no
// module holds an env of its own and a differently configured env in tests gets state of its own.
import { readConfig } from "../config.ts";
import type { LearnedLimit } from "../core/capabilities.ts";
import { digestReports } from "../core/outcome-digest.ts";
import { controlPlaneStub } from "../state/control-plane.ts";
import { keyDirectoryStub, keyLedgerStub } from "../state/key-objects.ts";
import { aggregatorStub } from "../state/location-aggregator.ts";
import type { QueuedRecord } from "../state/records-store.ts";
import { STICKY_SHARD_COUNT, stickyShardName } from "../state/sticky-shard.ts";
import { createKeyLeases, type KeyLeases } from "./key-leases.ts";
import { createOutcomeQueue, type OutcomeQueue } from "./outcome-queue.ts";
import { createProbeSet, type ProbeSet } from "./probes.ts";
import { createRecordQueue, type RecordQueue } from "./record-queue.ts";
import { createResumeMemory, type ResumeMemory } from "./resume-memory.ts";
import { createSecretHashes, type SecretHashes } from "./secret-hashes.ts";
import { createStickyCache, type StickyCache } from "./sticky-cache.ts";
import { createViewCache, type ViewCache } from "./view-cache.ts";

export interface IsolateState {
  /** The Cloudflare location this isolate runs in, whose aggregator it reports to (research/SCALE.md). */
  place: { location: string; noted: boolean };
  views: ViewCache;
  sticky: StickyCache;
  probes: ProbeSet;
  outcomes: OutcomeQueue;
  /** Records on their way to the Queue (docs/contract.md §17). */
  records: RecordQueue<QueuedRecord>;
  keys: KeyLeases;
  /** The hashes of client keys and sessions seen lately. */
  hashes: SecretHashes;
  /**
   * What engines' refusals taught this isolate about models' limits (docs/contract.md §16), used at once;
   * the fleet learns the same through the outcome reports.
   */
  limits: Record<string, LearnedLimit>;
  /** Which models broke answers lately, and which did not continue one (docs/contract.md §19). */
  resume: ResumeMemory;
}

const states = new WeakMap<object, IsolateState>();

/** How long a record waits in its isolate for others to go to the Queue with it. */
const RECORD_FLUSH_MS = 250;

/** This isolate's state for `env`, made on first use. */
export function isolateState(env: Env): IsolateState {
  let state = states.get(env);
  if (!state) {
    state = createIsolateState(env);
    states.set(env, state);
  }
  return state;
}

/**
 * Notes the location requests arrive at (`request.cf.colo`), once: an isolate stays in one, and reading
 * `request.cf` parses it anew each time.
 */
export function noteLocation(env: Env, request: Request): void {
  const { place } = isolateState(env);
  if (place.noted) return;
  place.noted = true;
  const colo = (request as { cf?: { colo?: unknown } }).cf?.colo;
  if (typeof colo === "string" && colo !== "") place.location = colo;
}

function createIsolateState(env: Env): IsolateState {
  const parsed = readConfig(env);
  const shards = parsed.ok ? parsed.config.sticky.shards : STICKY_SHARD_COUNT;
  const aggregating = parsed.ok && parsed.config.aggregator.forwardMs > 0;
  const place = { location: "local", noted: false };
  const aggregator = () => aggregatorStub(env, place.location);
  const shardNameOf = (key: string) => stickyShardName(key, shards);
  const views = createViewCache({
    getView: () => aggregator().getView(),
    getModels: () => controlPlaneStub(env).getModels(),
  });
  return {
    place,
    views,
    sticky: createStickyCache((key) => env.STICKY_SHARD.getByName(shardNameOf(key)).lookup(key)),
    probes: createProbeSet(),
    hashes: createSecretHashes(),
    limits: {},
    resume: createResumeMemory(),
    outcomes: createOutcomeQueue({
      reportOutcomes: (reports) => aggregator().report(digestReports(reports, Date.now())),
      applySticky: (name, writes) => env.STICKY_SHARD.getByName(name).apply(writes),
      shardNameOf,
      storeView: views.store,
      // With an aggregator in between, a flush every quarter second keeps a busy location's object under
      // its limit (research/SCALE.md); straight to the control plane, every 50 ms as before.
      flushDelayMs: aggregating ? 250 : 50,
    }),
    records: createRecordQueue<QueuedRecord>({
      send: async (messages) => {
        await env.RECORDS_QUEUE.sendBatch(messages.map((body) => ({ body, contentType: "json" as const })));
      },
      flushDelayMs: RECORD_FLUSH_MS,
    }),
    keys: createKeyLeases(
      {
        resolve: (hash) => keyDirectoryStub(env).resolve(hash),
        sync: (id, request) => keyLedgerStub(env, id).sync(request),
      },
      crypto.randomUUID(),
      () => Date.now(),
    ),
  };
}
