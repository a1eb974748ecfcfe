// Fetches one control-plane feed with a deadline that covers headers and body, and parses it.
// Failures come back as data with a message safe to store and show (no secrets: URLs come from config).
import type { FeedParse } from "../core/feeds.ts";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** GETs `url` as JSON within `timeoutMs` and hands the body to `parse`. Never throws. */
export async function fetchFeed<T>(
  url: string,
  timeoutMs: number,
  parse: (body: unknown) => FeedParse<T>,
  fetchFn: FetchLike = fetch,
): Promise<FeedParse<T>> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetchFn(url, {
      headers: { accept: "application/json" },
      signal: controller.signal,
    });
    if (!response.ok) {
      await response.body?.cancel();
      return { ok: false, error: `HTTP ${response.status}` };
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, error: "body is not JSON" };
    }
    return parse(body);
  } catch (error) {
    if (controller.signal.aborted) return { ok: false, error: `timed out after ${timeoutMs} ms` };
    return { ok: false, error: `request failed: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    clearTimeout(timer);
  }
}
