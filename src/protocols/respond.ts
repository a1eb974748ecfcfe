// Turns a failover result into the client's response (SPEC §7–§9). A committed stream takes over the request's
// log line (SPEC §11) and writes it when the relay ends, with time to first byte and how the stream ended.
import type { RequestLogHandle } from "../app-env.ts";
import { isEventStream } from "../core/sse.ts";
import type { FailoverResult } from "../upstream/failover.ts";
import { type RelayEnd, relayBody } from "../upstream/relay.ts";

export interface ResponseMeta {
  requestId: string;
  /** Alias and list modes name the model that answered. */
  showSelected: boolean;
  idleTimeoutMs: number;
  startedMs: number;
  log: RequestLogHandle;
}

export function respond(result: FailoverResult, meta: ResponseMeta): Response {
  if (result.kind === "router_error") {
    const { error } = result;
    meta.log.fields.errorCode = error.code;
    const headers = routerHeaders(meta, result.attempts.length, null);
    headers.set("content-type", "application/json");
    return new Response(JSON.stringify(error.toBody()), { status: error.status, headers });
  }

  const upstream = result.kind === "committed" ? result.outcome.response : result.response;
  const headers = new Headers(upstream.headers);
  for (const [name, value] of routerHeaders(meta, result.attempts.length, result.model))
    headers.set(name, value);

  if (result.kind === "upstream_answer") {
    return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
  }

  meta.log.fields.ttfbMs = Date.now() - meta.startedMs;
  const writeLog = meta.log.defer();
  headers.delete("content-length");
  const body = relayBody(result.outcome.first, result.outcome.reader, {
    idleTimeoutMs: meta.idleTimeoutMs,
    isEventStream: isEventStream(upstream.headers.get("content-type")),
    abortUpstream: result.outcome.abort,
    onEnd: (end: RelayEnd) => {
      meta.log.fields.streamEnd = end;
      if (end !== "complete")
        meta.log.fields.errorCode = end === "client_cancel" ? "client_cancel" : "upstream_stream_error";
      writeLog(upstream.status);
    },
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
