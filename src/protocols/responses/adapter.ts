// The Responses adapter for POST /v1/responses (docs/contract.md §20): the body translated to an OpenAI chat
// completion (request.ts) and routed like /v1/chat/completions (modes, capabilities, failover, stickiness keyed
// by Codex's session, breakers, hedging, keys, recording), and the answer translated back (answer.ts): a stream
// through the relay in the Responses event protocol, a whole answer as one response object, errors in OpenAI's
// shape.
import { chatBodyWriter } from "../../core/body-rewrite.ts";
import { readJsonObject } from "../../core/completion-body.ts";
import { profileChatBody } from "../../core/request-profile.ts";
import { extractToken } from "../../core/sticky-key.ts";
import { framedStream } from "../framed-stream.ts";
import type { ProtocolAdapter } from "../handle.ts";
import { BROKEN_ANSWER, keepRetryAfter, respondTranslated } from "../translated.ts";
import { createResponsesMachine, type ResponsesAnswerOptions, translateResponse } from "./answer.ts";
import { renderResponsesFailure, renderUpstreamError } from "./errors.ts";
import { translateRequest } from "./request.ts";

/** What the answer needs of the request: the translation's options and whether the client streams. */
interface ResponsesAnswer {
  options: Omit<ResponsesAnswerOptions, "responseId" | "createdAt">;
  stream: boolean;
}

// Codex's own headers: its session and turn bookkeeping, and an encoding list the upstream must not answer in.
const CLIENT_ONLY = [
  "session-id",
  "thread-id",
  "x-client-request-id",
  "originator",
  "accept",
  "accept-encoding",
];

/** The client's headers as the upstream should see them (hygiene still applies after this). */
function upstreamHeaders(client: Headers): Headers {
  const headers = new Headers(client);
  for (const name of CLIENT_ONLY) headers.delete(name);
  for (const name of [...headers.keys()])
    if (name.startsWith("x-codex-") || name === "openai-beta") headers.delete(name);
  return headers;
}

export const responsesAdapter: ProtocolAdapter<ResponsesAnswer> = {
  protocol: "openai.responses",
  credential: (headers) => extractToken(headers.get("authorization")),
  parse: (rawBody, request) => {
    const read = readJsonObject(rawBody);
    if (!read.ok) return read.failure;
    const translated = translateRequest(read.body);
    if (!translated.ok) {
      const { message, param, code } = translated;
      return code === undefined
        ? { kind: "invalid_request", message, param }
        : { kind: "invalid_request", message, param, code };
    }
    const profile = profileChatBody(translated.chat);
    return {
      request: {
        model: translated.model,
        upstreamPath: "/v1/chat/completions",
        bodyFor: chatBodyWriter(translated.chat),
        profile,
        clientHeaders: upstreamHeaders(request.headers),
      },
      // Codex's session (also its prompt_cache_key) keeps the session on one model and its prefix cache warm.
      session: request.headers.get("session-id")?.trim() || translated.promptCacheKey,
      answer: {
        stream: translated.stream,
        options: {
          model: translated.model,
          tools: translated.tools,
          echo: translated.echo,
          inputTokensEstimate: profile.inputTokens,
        },
      },
    };
  },
  render: async (result, answer, meta, routerHeaders) => {
    const headers = new Headers(routerHeaders);
    switch (result.kind) {
      case "failed":
        return renderResponsesFailure(result.failure, headers);
      case "upstream_answer": {
        const { response } = result;
        keepRetryAfter(response, headers);
        return renderUpstreamError(response.status, await response.text(), headers);
      }
      case "committed": {
        const options: ResponsesAnswerOptions = {
          ...answer.options,
          responseId: `resp_${meta.requestId.replace(/-/g, "")}`,
          createdAt: Math.floor(meta.startedMs / 1000),
        };
        return respondTranslated(result, meta, headers, {
          stream: answer.stream ? framedStream((emit) => createResponsesMachine(options, emit)) : null,
          whole: (completion) => translateResponse(completion, options),
          broken: () => renderResponsesFailure(BROKEN_ANSWER, headers),
        });
      }
    }
  },
};
