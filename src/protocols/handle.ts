// The one skeleton every protocol's routed endpoint runs (docs/contract.md §3–§9, §14): admit the client on
// the key its protocol carries, read the body within MAX_REQUEST_BYTES, let the adapter parse it into a
// RoutingRequest, route it, and let the adapter render what came back. Every refusal (bad key, bad body, bad
// model, nothing to route to, a key's limits) is thrown, so the protocol's own error handler renders it in its
// shape and the refusal counter (routes/refusal-counter.ts) counts it the same way on every route.
import type { Context } from "hono";
import type { AppEnv } from "../app-env.ts";
import { type Failure, FailureError } from "../core/failure.ts";
import { effectiveLevel, type Protocol, RECORD_HEADER } from "../core/record.ts";
import type { StickyHeaders } from "../core/sticky-key.ts";
import { traceContext } from "../core/trace-context.ts";
import { admitOrThrow } from "../routing/admit.ts";
import { routeRequest } from "../routing/pipeline.ts";
import { startRecording } from "../routing/recording.ts";
import { createRoutingContext } from "../routing/routing-context.ts";
import type { RoutingRequest, RoutingResult } from "../routing/routing-request.ts";
import { readBodyWithLimit } from "../upstream/read-body.ts";
import { type ResponseMeta, recordRouting, routerHeaders } from "./respond.ts";

/** What an adapter's parse gives the skeleton: the request to route, and what its render needs later. */
export interface Parsed<Answer> {
  request: Omit<RoutingRequest, "identity" | "clientSignal" | "key">;
  /** A client session that keys stickiness ahead of the credential (Claude Code's). */
  session?: string | null;
  answer: Answer;
}

/** A routed result the adapter renders: refusals never reach it (they are thrown). */
export type Rendered = Exclude<RoutingResult, { kind: "refused" }>;

export interface ProtocolAdapter<Answer> {
  /** What its records are filed under (docs/contract.md §17). */
  protocol: Protocol;
  /** The key the client presented, as its protocol carries it. */
  credential(headers: Headers): string | null;
  /** The client's body as a routing request, or the failure to refuse it with. */
  parse(rawBody: string, request: Request): Parsed<Answer> | Failure;
  /** The client's answer; `headers` are the router's own (§9) to add to it. */
  render(
    result: Rendered,
    answer: Answer,
    meta: ResponseMeta,
    headers: Record<string, string>,
  ): Response | Promise<Response>;
}

/**
 * The first two steps of every client route: the client admitted on `credential` (or the refusal thrown), then
 * its body read within MAX_REQUEST_BYTES.
 */
export async function admitAndRead(c: Context<AppEnv>, credential: string | null) {
  const config = c.get("config");
  const ctx = createRoutingContext(c.env, config, Date.now(), (promise) => c.executionCtx.waitUntil(promise));
  const key = await admitOrThrow(ctx, credential, c.get("log"));
  const body = await readBodyWithLimit(c.req.raw, config.upstream.maxRequestBytes);
  return { ctx, key, body };
}

export async function handleRouted<Answer>(
  c: Context<AppEnv>,
  adapter: ProtocolAdapter<Answer>,
): Promise<Response> {
  const config = c.get("config");
  const log = c.get("log");
  const raw = c.req.raw;
  const credential = adapter.credential(raw.headers);
  const { ctx, key, body } = await admitAndRead(c, credential);
  const level = effectiveLevel(config.recording.level, key?.limits.recording, raw.headers.get(RECORD_HEADER));
  if (level === null)
    throw new FailureError({
      kind: "invalid_request",
      message: `${RECORD_HEADER} must be off, metadata, redacted or full`,
    });
  const parsed = adapter.parse(body, raw);
  if ("kind" in parsed) throw new FailureError(parsed);
  const identity: StickyHeaders = {
    session: parsed.session ?? null,
    authorization: credential,
    cfConnectingIp: raw.headers.get("cf-connecting-ip"),
    xForwardedFor: raw.headers.get("x-forwarded-for"),
  };
  const trace = traceContext(raw.headers.get("traceparent"));
  log.fields.traceId = trace.traceId;
  log.routed = true;
  const recording =
    level === "off"
      ? null
      : startRecording(ctx, {
          level,
          protocol: adapter.protocol,
          route: c.req.path,
          requestId: c.get("requestId"),
          trace,
          // Kept only when a body is recorded.
          rawBody: level === "metadata" ? null : body,
          requestedModel: parsed.request.model,
          keyId: key?.id ?? null,
          session: parsed.session ?? null,
          credential,
        });
  if (recording) log.onWrite = recording.written;
  const result = await routeRequest(ctx, {
    ...parsed.request,
    identity,
    clientSignal: raw.signal,
    key,
    traceparent: trace.traceparent,
  });
  if (recording) {
    recording.result = result;
    if (result.kind === "committed" && recording.subscriber)
      result.subscribers = [...(result.subscribers ?? []), recording.subscriber];
  }
  recordRouting(log, result);
  if (result.kind === "refused") throw new FailureError(result.failure);
  const meta: ResponseMeta = {
    requestId: c.get("requestId"),
    idleTimeoutMs: config.upstream.idleTimeoutMs,
    startedMs: ctx.startedMs,
    log,
  };
  return adapter.render(result, parsed.answer, meta, routerHeaders(meta, result));
}
