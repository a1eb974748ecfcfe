// The `/__admin/` endpoint: JSON over HTTP mapped one to one onto FakeChutesControl, which server.ts
// implements and also hands to in-process callers. Bad input answers 400 `{"detail": ...}`.
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Behavior, type BehaviorTable, parseBehavior } from "./behaviors.ts";
import { type EngineLimits, parseEngineLimits } from "./engine-limits.ts";
import { type FeedName, type FeedState, parseFeedCommand } from "./feeds.ts";
import { parseJsonObject, readBody, sendJson } from "./http-io.ts";
import type { RequestLogEntry } from "./request-log.ts";

export type FakeChutesState = {
  behaviors: ReturnType<BehaviorTable["snapshot"]>;
  feeds: Record<FeedName, FeedState>;
  /** Requests served per feed since the last reset. */
  feedHits: Record<FeedName, number>;
};

/** Scripting surface shared by the admin endpoint and the object `startFakeChutes` returns. */
export type FakeChutesControl = {
  /** Throws a TypeError when `behavior` is not a valid `Behavior`. */
  setBehavior(model: string, behavior: Behavior): void;
  /** Throws a TypeError when `state` is not a valid `FeedState`. */
  setFeed(feed: FeedName, state: FeedState): void;
  /** What the engine behind `model` serves from now on; null serves anything (engine-limits.ts). */
  setLimits(model: string, limits: EngineLimits | null): void;
  /** Turns the engines' refusals on or off for every model. */
  enforceLimits(on: boolean): void;
  /** Every model healthy and served as its feed entry states, both feeds `ok` with default rows, log and feed hits cleared. */
  reset(): void;
  requests(): RequestLogEntry[];
  clearRequests(): void;
  state(): FakeChutesState;
};

export const ADMIN_PREFIX = "/__admin/";

export async function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  control: FakeChutesControl,
): Promise<void> {
  const body = req.method === "POST" ? await readBody(req) : "";
  switch (`${req.method} ${path}`) {
    case "POST /__admin/behavior": {
      const input = parseJsonObject(body);
      if (input === null) return sendDetail(res, 400, "body must be a JSON object {model, behavior}");
      if (typeof input.model !== "string" || input.model === "") {
        return sendDetail(res, 400, "model must be a non-empty string");
      }
      const parsed = parseBehavior(input.behavior);
      if (!parsed.ok) return sendDetail(res, 400, parsed.error);
      control.setBehavior(input.model, parsed.value);
      return sendJson(res, 200, { ok: true });
    }
    case "POST /__admin/feed": {
      const parsed = parseFeedCommand(parseJsonObject(body));
      if (!parsed.ok) return sendDetail(res, 400, parsed.error);
      control.setFeed(parsed.value.feed, parsed.value.state);
      return sendJson(res, 200, { ok: true });
    }
    case "POST /__admin/limits": {
      const input = parseJsonObject(body);
      if (input === null || typeof input.model !== "string" || input.model === "")
        return sendDetail(res, 400, "body must be a JSON object {model, limits}");
      const parsed = parseEngineLimits(input.limits);
      if (!parsed.ok) return sendDetail(res, 400, parsed.error);
      control.setLimits(input.model, parsed.value);
      return sendJson(res, 200, { ok: true });
    }
    case "POST /__admin/enforce": {
      const input = parseJsonObject(body);
      if (input === null || typeof input.on !== "boolean")
        return sendDetail(res, 400, "body must be {on: boolean}");
      control.enforceLimits(input.on);
      return sendJson(res, 200, { ok: true });
    }
    case "POST /__admin/reset":
      control.reset();
      return sendJson(res, 200, { ok: true });
    case "GET /__admin/requests":
      return sendJson(res, 200, control.requests());
    case "POST /__admin/requests/clear":
      control.clearRequests();
      return sendJson(res, 200, { ok: true });
    case "GET /__admin/state":
      return sendJson(res, 200, control.state());
    default:
      return sendDetail(res, 404, "Not Found");
  }
}

function sendDetail(res: ServerResponse, status: number, detail: string): void {
  sendJson(res, status, { detail });
}
