// Turns a failover result into the client's response (SPEC §7–§9) and writes the request's one log line
// (SPEC §11) when the answer is complete: at once for whole answers, at the stream's end for committed ones.
import type { RequestLog } from "../core/request-log.ts";
import { isEventStream } from "../core/sse.ts";
import type { FailoverResult } from "../upstream/failover.ts";
import { type RelayEnd, relayBody } from "../upstream/relay.ts";

export interface ResponseMeta {
  requestId: string;
  route: string;
  mode: "alias" | "list" | "direct";
  candidates: number;
  /** Alias and list modes name the model that answered. */
  showSelected: boolean;
  idleTimeoutMs: number;
  startedMs: number;
  snapshotAgeMs: number | null;
}

export function respond(result: FailoverResult, meta: ResponseMeta): Response {
  const log = (
    status: number,
    selected: string | null,
    ttfbMs: number | null,
    streamEnd: RelayEnd | null,
    errorCode: string | null,
  ) => {
    const line: RequestLog = {
      event: "request",
      requestId: meta.requestId,
      route: meta.route,
      mode: meta.mode,
      candidates: meta.candidates,
      attempts: result.attempts,
      selected,
      status,
      ttfbMs,
      durationMs: Date.now() - meta.startedMs,
      streamEnd,
      snapshotAgeMs: meta.snapshotAgeMs,
      errorCode,
    };
    console.log(JSON.stringify(line));
  };

  if (result.kind === "router_error") {
    const { error } = result;
    log(error.status, null, null, null, error.code);
    const headers = routerHeaders(meta, result.attempts.length, null);
    headers.set("content-type", "application/json");
    return new Response(JSON.stringify(error.toBody()), { status: error.status, headers });
  }

  const upstream = result.kind === "committed" ? result.outcome.response : result.response;
  const headers = new Headers(upstream.headers);
  for (const [name, value] of routerHeaders(meta, result.attempts.length, result.model))
    headers.set(name, value);

  if (result.kind === "upstream_answer") {
    log(upstream.status, result.model, null, null, null);
    return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
  }

  const ttfbMs = Date.now() - meta.startedMs;
  headers.delete("content-length");
  const body = relayBody(result.outcome.first, result.outcome.reader, {
    idleTimeoutMs: meta.idleTimeoutMs,
    isEventStream: isEventStream(upstream.headers.get("content-type")),
    abortUpstream: result.outcome.abort,
    onEnd: (end) => log(upstream.status, result.model, ttfbMs, end, end === "complete" ? null : end),
  });
  return new Response(body, { status: upstream.status, statusText: upstream.statusText, headers });
}

function routerHeaders(meta: ResponseMeta, attempts: number, selected: string | null): Headers {
  const headers = new Headers({
    "x-request-id": meta.requestId,
    "x-chutes-autopilot-attempts": String(attempts),
  });
  if (meta.showSelected && selected !== null) headers.set("x-chutes-autopilot-selected", selected);
  return headers;
}
