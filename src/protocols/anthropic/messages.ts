// The Anthropic Messages adapter for POST /v1/messages (docs/contract.md §14): admit on `x-api-key` or a
// Bearer token, translate the body to an OpenAI chat completion, route it like /v1/chat/completions (modes,
// failover, stickiness keyed by the Claude Code session when there is one, breakers, hedging), and translate
// the answer back: a stream through the relay with Anthropic framing, a JSON answer whole, errors in
// Anthropic's shape with `request-id`.
import type { Context } from "hono";
import type { AppEnv } from "../../app-env.ts";
import { chatBodyWriter } from "../../core/body-rewrite.ts";
import { createSseReader, isEventStream } from "../../core/event-stream.ts";
import { FailureError } from "../../core/failure.ts";
import { mapModel } from "../../core/model-map.ts";
import { profileChatBody } from "../../core/request-profile.ts";
import { admitOrThrow } from "../../routing/admit.ts";
import { routeRequest } from "../../routing/pipeline.ts";
import { createRoutingContext } from "../../routing/routing-context.ts";
import type { RoutingResult } from "../../routing/routing-request.ts";
import { readBodyWithLimit } from "../../upstream/read-body.ts";
import type { StreamFraming } from "../../upstream/relay.ts";
import { type ResponseMeta, recordRouting, relayCommitted, routerHeaders } from "../respond.ts";
import { renderAnthropicFailure, renderUpstreamError } from "./errors.ts";
import { anthropicCredential, anthropicUpstreamHeaders, readJsonObject } from "./http.ts";
import { completionAsSse } from "./json-as-stream.ts";
import { translateRequest } from "./request.ts";
import { type ResponseContext, translateResponse } from "./response.ts";
import { createAnthropicStream } from "./stream.ts";

/** A JSON answer is read as the upstream sent it; only a stream is re-framed. */
const RELAY_AS_IS: StreamFraming = {
  transform: null,
  finish: null,
  errorEvent: () => new Uint8Array(0),
};

export async function handleAnthropicMessages(c: Context<AppEnv>): Promise<Response> {
  const config = c.get("config");
  const log = c.get("log");
  const requestId = c.get("requestId");
  const ctx = createRoutingContext(c.env, config, Date.now(), (promise) => c.executionCtx.waitUntil(promise));
  const key = await admitOrThrow(ctx, anthropicCredential(c.req.raw.headers), log);
  const { translated, profile, bodyFor } = await readRequest(c.req.raw, config.upstream.maxRequestBytes);

  const model = mapModel(translated.model, config.anthropic.modelMap);
  const session = c.req.header("x-claude-code-session-id") ?? translated.sessionId;
  const result = await routeRequest(ctx, {
    model,
    upstreamPath: "/v1/chat/completions",
    bodyFor,
    profile,
    clientHeaders: anthropicUpstreamHeaders(c.req.raw.headers),
    identity: {
      session,
      authorization: c.req.header("authorization") ?? c.req.header("x-api-key") ?? null,
      cfConnectingIp: c.req.header("cf-connecting-ip") ?? null,
      xForwardedFor: c.req.header("x-forwarded-for") ?? null,
    },
    clientSignal: c.req.raw.signal,
    key,
  });
  recordRouting(log, result);
  const meta = { requestId, idleTimeoutMs: config.upstream.idleTimeoutMs, startedMs: ctx.startedMs, log };
  const headers = routerHeaders(meta, result);
  headers.set("request-id", requestId);
  const messageId = `msg_${requestId.replace(/-/g, "")}`;
  const context = {
    model: translated.model,
    messageId,
    stopSequences: translated.stopSequences,
    omitThinking: translated.omitThinking,
  };

  switch (result.kind) {
    case "refused":
    case "failed":
      return renderAnthropicFailure(result.failure, requestId, headers);
    case "upstream_answer":
      return renderUpstreamAnswer(result, requestId, headers);
    case "committed": {
      if (!translated.stream) return respondWhole(result, context, meta, headers);
      const stream = createAnthropicStream({ ...context, inputTokensEstimate: profile.inputTokens });
      headers.set("content-type", "text/event-stream; charset=utf-8");
      headers.set("cache-control", "no-cache");
      if (!isEventStream(result.commit.response.headers.get("content-type"))) {
        return respondJsonAsStream(result, stream, meta, headers);
      }
      const framing: StreamFraming = {
        transform: (chunk) => stream.push(chunk),
        finish: () => stream.finish(),
        errorEvent: (message) => stream.fail(message),
        sawError: () => stream.erred(),
      };
      return new Response(relayCommitted(result, framing, meta), { status: 200, headers });
    }
  }
}

/**
 * The request read and translated once, keeping only what routing and the answer need: the client's body,
 * its parsed form and the translated chat body go out of scope here, so a request near MAX_REQUEST_BYTES is
 * not held several times over while its answer streams (the upstream body is serialized once, for every
 * attempt).
 */
async function readRequest(request: Request, maxBytes: number) {
  const translated = translateRequest(readJsonObject(await readBodyWithLimit(request, maxBytes)));
  if (!translated.ok) throw new FailureError({ kind: "invalid_request", message: translated.message });
  const { chat, ...rest } = translated;
  return { translated: rest, profile: profileChatBody(chat), bodyFor: chatBodyWriter(chat) };
}

/**
 * A non-streamed answer: read whole through the relay (which keeps the idle timeout and settles the attempt
 * when the body ends), then translated. A body that breaks or is not a chat completion is a 502.
 */
async function respondWhole(
  result: Extract<RoutingResult, { kind: "committed" }>,
  context: ResponseContext,
  meta: ResponseMeta,
  headers: Headers,
): Promise<Response> {
  let message: Record<string, unknown> | null = null;
  try {
    const text = await new Response(relayCommitted(result, RELAY_AS_IS, meta)).text();
    message = translateResponse(JSON.parse(text), context);
  } catch {
    message = null;
  }
  if (!message) {
    const failure = { kind: "upstream_failed", reason: "upstream_first_body_byte_error" } as const;
    return renderAnthropicFailure(failure, meta.requestId, headers);
  }
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(message), { status: 200, headers });
}

/** A streamed request the upstream answered with one JSON body: read whole, then sent as Anthropic events. */
async function respondJsonAsStream(
  result: Extract<RoutingResult, { kind: "committed" }>,
  stream: ReturnType<typeof createAnthropicStream>,
  meta: ResponseMeta,
  headers: Headers,
): Promise<Response> {
  let sse: string | null = null;
  try {
    sse = completionAsSse(JSON.parse(await new Response(relayCommitted(result, RELAY_AS_IS, meta)).text()));
  } catch {
    sse = null;
  }
  if (sse === null) {
    const failure = { kind: "upstream_failed", reason: "upstream_first_body_byte_error" } as const;
    return renderAnthropicFailure(failure, meta.requestId, headers);
  }
  const events = createSseReader().push(new TextEncoder().encode(sse));
  return new Response(new Blob([stream.push(events), stream.finish()]), { status: 200, headers });
}

/** An upstream error answer passed on: its status (capacity answers as 529) in Anthropic's shape. */
async function renderUpstreamAnswer(
  result: Extract<RoutingResult, { kind: "upstream_answer" }>,
  requestId: string,
  headers: Headers,
): Promise<Response> {
  const { response } = result;
  const retryAfter = response.headers.get("retry-after");
  if (retryAfter) headers.set("retry-after", retryAfter);
  const overloaded = result.trace.attempts.at(-1)?.reason === "upstream_overloaded";
  return renderUpstreamError(response.status, await response.text(), overloaded, requestId, headers);
}
