// One refresh of the feeds, as a plain function the control-plane object calls with its stored feeds, its
// store and its clock (docs/contract.md §10): the utilization snapshot on every tick, the allowlist when due.
// A success replaces a feed's rows and timestamp (an empty success too); a failure keeps the last-known-good
// rows and records only the attempt and its error.
import type { Config } from "../config.ts";
import { type FeedParse, parseModelsFeed, parseUtilizationFeed } from "../core/feeds.ts";
import { PRIVATE_CHUTE_NAME } from "../core/ranking.ts";
import type { FeedName, FeedStatus, Feeds } from "../core/snapshot.ts";
import { type FetchLike, fetchFeed } from "./fetch-feed.ts";
import { planRefresh } from "./refresh-plan.ts";

/** What one refresh did, for the cron log. */
export interface RefreshReport {
  utilization: "ok" | "failed" | "skipped";
  models: "ok" | "failed" | "skipped";
  candidates: number;
}

/** Where a refresh writes each feed's outcome before the object replaces its in-memory copy. */
export interface FeedWriter {
  saveFeed(name: FeedName, status: FeedStatus, rows: readonly unknown[]): void;
  saveFeedFailure(name: FeedName, status: FeedStatus): void;
}

/** Fetches what is due and returns the new feeds (the input is not changed). */
export async function refreshFeeds(
  current: Feeds,
  settings: Config["feeds"],
  writer: FeedWriter,
  nowMs: () => number,
  fetchFn: FetchLike = fetch,
): Promise<{ feeds: Feeds; utilization: "ok" | "failed"; models: "ok" | "failed" | "skipped" }> {
  const startedMs = nowMs();
  const plan = planRefresh(current.models.status, settings.modelsRefreshMs, startedMs);
  const [utilization, models] = await Promise.all([
    fetchFeed(settings.utilizationUrl, settings.timeoutMs, parseUtilizationFeed, fetchFn),
    plan.models ? fetchFeed(settings.modelsUrl, settings.timeoutMs, parseModelsFeed, fetchFn) : null,
  ]);
  const finishedMs = nowMs();
  const feeds: Feeds = { ...current };
  let modelsResult: "ok" | "failed" | "skipped" = "skipped";
  if (models) {
    const next = applyFeedResult("models", current.models, models, writer, startedMs, finishedMs);
    feeds.models = next.feed;
    modelsResult = next.result;
  }
  const publicRows = utilization.ok
    ? { ...utilization, rows: utilization.rows.filter((row) => row.name !== PRIVATE_CHUTE_NAME) }
    : utilization;
  const next = applyFeedResult("utilization", current.utilization, publicRows, writer, startedMs, finishedMs);
  feeds.utilization = next.feed;
  return { feeds, utilization: next.result, models: modelsResult };
}

function applyFeedResult<K extends FeedName>(
  name: K,
  feed: Feeds[K],
  result: FeedParse<Feeds[K]["rows"][number]>,
  writer: FeedWriter,
  startedMs: number,
  finishedMs: number,
): { feed: Feeds[K]; result: "ok" | "failed" } {
  if (result.ok) {
    const status: FeedStatus = {
      lastSuccessMs: finishedMs,
      lastAttemptMs: startedMs,
      lastError: null,
      skippedRows: result.skipped,
    };
    writer.saveFeed(name, status, result.rows);
    return { feed: { status, rows: result.rows } as Feeds[K], result: "ok" };
  }
  const status: FeedStatus = { ...feed.status, lastAttemptMs: startedMs, lastError: result.error };
  writer.saveFeedFailure(name, status);
  return { feed: { ...feed, status }, result: "failed" };
}
