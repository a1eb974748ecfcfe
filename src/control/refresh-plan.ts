// When each feed is due. Pure: the object calls it with its clock and stored freshness.
import type { FeedStatus } from "../core/snapshot.ts";

export interface RefreshPlan {
  utilization: boolean;
  models: boolean;
}

/** The snapshot refreshes on every tick; the allowlist once its last success is a period old (or failed). */
export function planRefresh(models: FeedStatus, modelsRefreshMs: number, nowMs: number): RefreshPlan {
  const modelsDue = models.lastSuccessMs === null || nowMs - models.lastSuccessMs >= modelsRefreshMs;
  return { utilization: true, models: modelsDue };
}
