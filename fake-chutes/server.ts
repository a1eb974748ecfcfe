// Starts the fake Chutes on 127.0.0.1: routes requests to the feeds, the completion behaviours and the admin
// endpoint, owns the shared scripted state, and on close() drops every socket so nothing hangs.
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { ADMIN_PREFIX, type FakeChutesControl, handleAdmin } from "./admin.ts";
import { BehaviorTable, parseBehavior } from "./behaviors.ts";
import {
  buildModelEntries,
  buildUtilizationRows,
  chuteIdFor,
  DEFAULT_MODELS,
  type FakeModel,
} from "./catalogue.ts";
import { playBehavior } from "./completions.ts";
import { continuationRequestOf } from "./continuation.ts";
import { type EngineLimits, limitsFromEntry, refuseIfUnfit } from "./engine-limits.ts";
import { FEED_OK, type FeedName, type FeedState, parseFeedState, respondToFeed } from "./feeds.ts";
import { flattenHeaders, isRecord, parseJsonObject, readBody, sendJson, sendText } from "./http-io.ts";
import type { CompletionKind } from "./openai-payloads.ts";
import { RequestLog } from "./request-log.ts";

export type FakeChutesOptions = {
  /** Default 0: any free port. */
  port?: number;
  /** Default DEFAULT_MODELS. */
  models?: readonly FakeModel[];
  /**
   * `real`: the feeds are the captured Chutes feeds of 2026-02-18 (fixtures/chutes-*-2026-02-18.json), 61
   * models served with the windows, tools and images their entries state. Default `fake` (`models`).
   */
  catalogue?: "fake" | "real";
  /**
   * Refuse what an engine would (engine-limits.ts): prompts beyond a model's window, tools without a parser,
   * images to a text-only model, each in vLLM's or SGLang's wording. Default true; `setLimits` changes one
   * model's.
   */
  enforceLimits?: boolean;
  /** Newest completion requests kept in the log. Default 10000. */
  maxLogEntries?: number;
};

export type FakeChutes = FakeChutesControl & {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:12345`. */
  readonly url: string;
  readonly models: readonly FakeModel[];
  /** Stops listening and destroys every open connection (stalled streams, silent feeds included). */
  close(): Promise<void>;
};

const HOST = "127.0.0.1";

/** The captured Chutes feeds of 2026-02-18, as the fake serves them with `catalogue: "real"`. */
function realFeeds(): Record<FeedName, unknown[]> {
  const read = (name: string) =>
    JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8"));
  return {
    models: (read("chutes-models-2026-02-18.json") as { data: unknown[] }).data,
    utilization: read("chutes-utilization-2026-02-18.json") as unknown[],
  };
}

const COMPLETION_ROUTES: Readonly<Record<string, CompletionKind>> = {
  "/v1/chat/completions": "chat",
  "/v1/completions": "text",
};

const FEED_ROUTES: Readonly<Record<string, FeedName>> = {
  "/chutes/utilization": "utilization",
  "/v1/models": "models",
};

/** Starts a fake Chutes (feeds + completions + `/__admin/`) listening on 127.0.0.1. */
export async function startFakeChutes(options: FakeChutesOptions = {}): Promise<FakeChutes> {
  const models = options.models ?? DEFAULT_MODELS;
  const catalogueIds = new Set(models.map((model) => model.id));
  const behaviors = new BehaviorTable();
  const scriptedModels = new Set<string>();
  const log = new RequestLog(options.maxLogEntries ?? 10_000);
  let feeds: Record<FeedName, FeedState> = { utilization: FEED_OK, models: FEED_OK };
  let feedHits: Record<FeedName, number> = { utilization: 0, models: 0 };
  const shutdown = new AbortController();
  const sockets = new Set<Socket>();

  const real = options.catalogue === "real" ? realFeeds() : null;
  const defaultRows: Record<FeedName, () => unknown[]> = real
    ? { utilization: () => real.utilization, models: () => real.models }
    : {
        utilization: () => buildUtilizationRows(models, new Date()),
        models: () => buildModelEntries(models),
      };
  let enforcing = options.enforceLimits ?? true;
  // Models whose engine serves other limits than their feed entry states (a window the entry overstates).
  const servedLimits = new Map<string, EngineLimits | null>();

  const control: FakeChutesControl = {
    setBehavior(model, behavior) {
      const parsed = parseBehavior(behavior);
      if (!parsed.ok) throw new TypeError(parsed.error);
      behaviors.set(model, parsed.value);
      scriptedModels.add(model);
    },
    setFeed(feed, state) {
      const parsed = parseFeedState(state);
      if (!parsed.ok) throw new TypeError(parsed.error);
      feeds = { ...feeds, [feed]: parsed.value };
    },
    setLimits(model, limits) {
      servedLimits.set(model, limits);
    },
    enforceLimits(on) {
      enforcing = on;
    },
    reset() {
      behaviors.clear();
      scriptedModels.clear();
      servedLimits.clear();
      enforcing = options.enforceLimits ?? true;
      feeds = { utilization: FEED_OK, models: FEED_OK };
      feedHits = { utilization: 0, models: 0 };
      log.clear();
    },
    requests: () => log.list(),
    clearRequests: () => log.clear(),
    state: () => ({ behaviors: behaviors.snapshot(), feeds: { ...feeds }, feedHits: { ...feedHits } }),
  };

  // Served models: the catalogue, any model a test scripted, and any id in the `/v1/models` rows served.
  function isKnownModel(id: string): boolean {
    if (catalogueIds.has(id) || scriptedModels.has(id)) return true;
    return entryOf(id) !== undefined;
  }

  function entryOf(id: string): Record<string, unknown> | undefined {
    const rows = feeds.models.rows ?? defaultRows.models();
    return rows.find((row): row is Record<string, unknown> => isRecord(row) && row.id === id);
  }

  /** What the engine behind `model` serves: a limit set for it, else what its feed entry states. */
  function limitsOf(model: string): EngineLimits | null {
    if (!enforcing) return null;
    if (servedLimits.has(model)) return servedLimits.get(model) ?? null;
    const entry = entryOf(model);
    return entry ? limitsFromEntry(entry) : null;
  }

  function chuteIdOf(id: string): string {
    return models.find((model) => model.id === id)?.chuteId ?? chuteIdFor(id);
  }

  async function handleCompletion(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    kind: CompletionKind,
  ) {
    const body = await readBody(req);
    const json = parseJsonObject(body);
    const model = typeof json?.model === "string" ? json.model : null;
    const request = { path, model, headers: flattenHeaders(req.headers), body, startedAt: Date.now() };
    const entry = log.add(request, () => (res.headersSent ? res.statusCode : null));
    const closed = new AbortController();
    let dropped = false;
    res.on("finish", () => {
      entry.completed = true;
    });
    res.on("close", () => {
      if (!entry.completed && !dropped && !shutdown.signal.aborted) entry.cancelled = true;
      closed.abort();
    });
    if (json === null) return sendJson(res, 400, { detail: "request body must be a JSON object" });
    if (model === null) return sendJson(res, 400, { detail: "model is required" });
    if (!isKnownModel(model)) return sendJson(res, 404, { detail: `model not found: ${model}` });
    const behavior = behaviors.take(model);
    entry.behavior = behavior.kind;
    // vLLM validates the request's fields before it counts anything, so this refusal comes first.
    const continuation = continuationRequestOf(kind, json);
    if (behavior.kind === "healthy" && continuation?.kind === "refused") {
      entry.behavior = "refused";
      return sendText(res, 400, "application/json", continuation.body);
    }
    const limits = behavior.kind === "healthy" ? limitsOf(model) : null;
    const refusal = limits ? refuseIfUnfit(model, json, limits) : null;
    if (refusal?.kind === "status") {
      entry.behavior = "refused";
      return sendText(res, refusal.status, "application/json", refusal.body);
    }
    if (refusal?.kind === "stream") {
      entry.behavior = "refused";
      return sendText(res, 200, "text/event-stream; charset=utf-8", refusal.body);
    }
    const run = {
      res,
      socket: req.socket,
      kind,
      model,
      chuteId: chuteIdOf(model),
      stream: json.stream === true,
      requestBody: body,
      invocationId: String(entry.id),
      continueFrom: continuation?.kind === "continue" ? continuation.prefix : null,
      signal: AbortSignal.any([closed.signal, shutdown.signal]),
      onDrop: () => {
        dropped = true;
      },
    };
    await playBehavior(run, behavior);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://fake-chutes.invalid").pathname;
    if (path.startsWith(ADMIN_PREFIX)) return handleAdmin(req, res, path, control);
    const kind = COMPLETION_ROUTES[path];
    if (kind !== undefined) {
      if (req.method !== "POST") return sendJson(res, 405, { detail: "Method Not Allowed" });
      return handleCompletion(req, res, path, kind);
    }
    const feed = FEED_ROUTES[path];
    if (feed !== undefined) {
      if (req.method !== "GET") return sendJson(res, 405, { detail: "Method Not Allowed" });
      feedHits[feed] += 1;
      return respondToFeed(res, feed, feeds[feed], defaultRows[feed]);
    }
    sendJson(res, 404, { detail: "Not Found" });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      // A client that leaves mid-request is expected; anything else is a bug in the fake worth seeing.
      if (req.destroyed || res.destroyed) return;
      console.error("fake-chutes: handler failed:", error);
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { detail: "fake-chutes handler failed" });
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fake-chutes: no TCP address");

  let closing: Promise<void> | undefined;
  return {
    ...control,
    url: `http://${HOST}:${address.port}`,
    models,
    close() {
      closing ??= new Promise<void>((resolve) => {
        shutdown.abort();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
