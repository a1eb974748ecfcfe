// A build of the router for counting Durable Object calls in the benchmark (never deployed): the same Worker,
// with each object's RPC methods counted, and GET /__bench/do-calls summing the counts over every object.
// The timed runs use the real bundle; only the counting pass uses this one.

import type { SyncRequest } from "../src/core/key-ledger.ts";
import type { OutcomeReport } from "../src/core/outcome.ts";
import type { OutcomeDigest } from "../src/core/outcome-digest.ts";
import router from "../src/index.ts";
import { isolateState } from "../src/isolate/isolate-state.ts";
import { CONTROL_PLANE_NAME, ControlPlane as RealControlPlane } from "../src/state/control-plane.ts";
import {
  keyDirectoryStub,
  KeyDirectory as RealKeyDirectory,
  KeyLedger as RealKeyLedger,
} from "../src/state/key-objects.ts";
import {
  aggregatorStub,
  LocationAggregator as RealLocationAggregator,
} from "../src/state/location-aggregator.ts";
import {
  StickyShard as RealStickyShard,
  STICKY_SHARD_COUNT,
  type StickyWrite,
} from "../src/state/sticky-shard.ts";

type Counts = Record<string, number>;

function bump(counts: Counts, method: string): void {
  counts[method] = (counts[method] ?? 0) + 1;
}

export class ControlPlane extends RealControlPlane {
  readonly calls: Counts = {};
  override getView() {
    bump(this.calls, "ControlPlane.getView");
    return super.getView();
  }
  override getModels() {
    bump(this.calls, "ControlPlane.getModels");
    return super.getModels();
  }
  override reportOutcomes(reports: OutcomeReport[]) {
    bump(this.calls, "ControlPlane.reportOutcomes");
    return super.reportOutcomes(reports);
  }
  override applyDigest(digest: OutcomeDigest) {
    bump(this.calls, "ControlPlane.applyDigest");
    return super.applyDigest(digest);
  }
  benchCallCounts(): Counts {
    return this.calls;
  }
}

export class StickyShard extends RealStickyShard {
  readonly calls: Counts = {};
  override lookup(key: string) {
    bump(this.calls, "StickyShard.lookup");
    return super.lookup(key);
  }
  override apply(writes: StickyWrite[]) {
    bump(this.calls, "StickyShard.apply");
    return super.apply(writes);
  }
  benchCallCounts(): Counts {
    return this.calls;
  }
}

export class LocationAggregator extends RealLocationAggregator {
  readonly calls: Counts = {};
  override report(digest: OutcomeDigest) {
    bump(this.calls, "LocationAggregator.report");
    return super.report(digest);
  }
  override getView() {
    bump(this.calls, "LocationAggregator.getView");
    return super.getView();
  }
  benchCallCounts(): Counts {
    return this.calls;
  }
}

export class KeyLedger extends RealKeyLedger {
  readonly calls: Counts = {};
  override sync(request: SyncRequest) {
    bump(this.calls, "KeyLedger.sync");
    return super.sync(request);
  }
  benchCallCounts(): Counts {
    return this.calls;
  }
}

export class KeyDirectory extends RealKeyDirectory {
  readonly calls: Counts = {};
  override resolve(hash: string) {
    bump(this.calls, "KeyDirectory.resolve");
    return super.resolve(hash);
  }
  benchCallCounts(): Counts {
    return this.calls;
  }
}

export default {
  ...router,
  async fetch(request: Request, env: Env, ctx: ExecutionContext) {
    if (new URL(request.url).pathname !== "/__bench/do-calls") return router.fetch(request, env, ctx);
    const total: Counts = {};
    const stubs = [
      env.CONTROL_PLANE.getByName(CONTROL_PLANE_NAME) as unknown as { benchCallCounts(): Promise<Counts> },
      ...Array.from(
        { length: STICKY_SHARD_COUNT },
        (_, i) =>
          env.STICKY_SHARD.getByName(`sticky-${i}`) as unknown as { benchCallCounts(): Promise<Counts> },
      ),
    ];
    // The one benchmark isolate reports to the aggregator of the location it noted.
    const { location } = isolateState(env).place;
    stubs.push(aggregatorStub(env, location) as unknown as { benchCallCounts(): Promise<Counts> });
    if ((env as Env & { ADMIN_API_KEY?: string }).ADMIN_API_KEY) {
      stubs.push(keyDirectoryStub(env) as unknown as { benchCallCounts(): Promise<Counts> });
      for (const id of await keyDirectoryStub(env).list())
        stubs.push(env.KEY_LEDGER.getByName(id) as unknown as { benchCallCounts(): Promise<Counts> });
    }
    for (const counts of await Promise.all(stubs.map((stub) => stub.benchCallCounts()))) {
      for (const [method, n] of Object.entries(counts)) total[method] = (total[method] ?? 0) + n;
    }
    // What requests waited for, as the isolate counted it: the rest of the key calls ran behind them.
    for (const [name, n] of Object.entries(isolateState(env).keys.stats())) total[`awaited: ${name}`] = n;
    return Response.json(total);
  },
} satisfies ExportedHandler<Env>;
