// The OpenAI protocol adapter for POST /v1/chat/completions and /v1/completions (docs/contract.md §2–§9):
// admit, read and check the body, route the client's own JSON (only `model` replaced, every other byte kept),
// and answer in OpenAI's shape: upstream answers pass through untouched, a committed stream is relayed as is.
import type { Context } from "hono";
import type { AppEnv } from "../../app-env.ts";
import { bodyRewriter } from "../../core/body-rewrite.ts";
import { readRequestedModel } from "../../core/completion-body.ts";
import { FailureError } from "../../core/failure.ts";
import { profileChatBody, profileCompletionBody } from "../../core/request-profile.ts";
import { extractToken } from "../../core/sticky-key.ts";
import { admitOrThrow } from "../../routing/admit.ts";
import { routeRequest } from "../../routing/pipeline.ts";
import { createRoutingContext } from "../../routing/routing-context.ts";
import { readBodyWithLimit } from "../../upstream/read-body.ts";
import type { StreamFraming } from "../../upstream/relay.ts";
import { recordRouting, relayCommitted, routerHeaders } from "../respond.ts";
import { openAIStreamErrorEvent, renderOpenAIFailure } from "./errors.ts";

/** OpenAI streams are relayed byte for byte; only a broken one gains the closing error event. */
const OPENAI_FRAMING: StreamFraming = { transform: null, finish: null, errorEvent: openAIStreamErrorEvent };

export async function handleOpenAICompletion(
  c: Context<AppEnv>,
  upstreamPath: "/v1/chat/completions" | "/v1/completions",
): Promise<Response> {
  const config = c.get("config");
  const log = c.get("log");
  const ctx = createRoutingContext(c.env, config, Date.now(), (promise) => c.executionCtx.waitUntil(promise));
  const authorization = c.req.header("authorization") ?? null;
  const key = await admitOrThrow(ctx, extractToken(authorization), log);
  const rawBody = await readBodyWithLimit(c.req.raw, config.upstream.maxRequestBytes);
  const { model, profile } = readRoutedBody(rawBody, upstreamPath);

  const result = await routeRequest(ctx, {
    model,
    upstreamPath,
    bodyFor: bodyRewriter(rawBody),
    profile,
    clientHeaders: c.req.raw.headers,
    identity: {
      authorization,
      cfConnectingIp: c.req.header("cf-connecting-ip") ?? null,
      xForwardedFor: c.req.header("x-forwarded-for") ?? null,
    },
    clientSignal: c.req.raw.signal,
    key,
  });
  recordRouting(log, result);
  if (result.kind === "refused") throw new FailureError(result.failure);
  const meta = {
    requestId: c.get("requestId"),
    idleTimeoutMs: config.upstream.idleTimeoutMs,
    startedMs: ctx.startedMs,
    log,
  };
  const headers = routerHeaders(meta, result);
  if (result.kind === "failed") return renderOpenAIFailure(result.failure, headers);

  const upstream = result.kind === "committed" ? result.commit.response : result.response;
  const merged = new Headers(upstream.headers);
  for (const [name, value] of headers) merged.set(name, value);
  const init = { status: upstream.status, statusText: upstream.statusText, headers: merged };
  if (result.kind === "upstream_answer") return new Response(upstream.body, init);
  merged.delete("content-length");
  return new Response(relayCommitted(result, OPENAI_FRAMING, meta), init);
}

/**
 * The model and profile of the client's body. Its parsed form goes out of scope here: only the raw text is
 * kept (every attempt's body is rewritten from it), so a large request is not held twice while it streams.
 */
function readRoutedBody(rawBody: string, upstreamPath: "/v1/chat/completions" | "/v1/completions") {
  const requested = readRequestedModel(rawBody);
  if (!requested.ok) throw new FailureError(requested.failure);
  const profile =
    upstreamPath === "/v1/chat/completions"
      ? profileChatBody(requested.body)
      : profileCompletionBody(requested.body);
  return { model: requested.model, profile };
}
