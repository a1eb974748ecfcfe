// The Anthropic Messages adapter for POST /v1/messages (docs/contract.md §14): the body translated to an
// OpenAI chat completion and routed like /v1/chat/completions (modes, failover, stickiness keyed by the Claude
// Code session when there is one, breakers, hedging), and the answer translated back: a stream through the
// relay with Anthropic framing, a JSON answer whole, errors in Anthropic's shape with `request-id`.
import { chatBodyWriter } from "../../core/body-rewrite.ts";
import { readJsonObject } from "../../core/completion-body.ts";
import { type ModelMapping, mapModel } from "../../core/model-map.ts";
import { profileChatBody } from "../../core/request-profile.ts";
import type { RoutingResult } from "../../routing/routing-request.ts";
import type { ProtocolAdapter } from "../handle.ts";
import { BROKEN_ANSWER, keepRetryAfter, respondTranslated } from "../translated.ts";
import type { AnswerOptions } from "./answer.ts";
import { renderAnthropicFailure, renderUpstreamError } from "./errors.ts";
import { anthropicCredential, anthropicUpstreamHeaders } from "./http.ts";
import { translateRequest } from "./request.ts";
import { translateResponse } from "./response.ts";
import { createAnthropicStream } from "./stream.ts";

/** What the answer needs of the request: the translation's options and whether the client streams. */
interface MessagesAnswer {
  options: Omit<AnswerOptions, "messageId">;
  stream: boolean;
}

export function anthropicAdapter(modelMap: readonly ModelMapping[]): ProtocolAdapter<MessagesAnswer> {
  return {
    protocol: "anthropic.messages",
    credential: anthropicCredential,
    // The client's body, its parsed form and the translated chat body go out of scope here, so a request near
    // MAX_REQUEST_BYTES is not held several times over while its answer streams (the upstream body is
    // serialized once, for every attempt).
    parse: (rawBody, request) => {
      const read = readJsonObject(rawBody);
      if (!read.ok) return read.failure;
      const translated = translateRequest(read.body);
      if (!translated.ok) return { kind: "invalid_request", message: translated.message };
      const { chat } = translated;
      const profile = profileChatBody(chat);
      return {
        request: {
          model: mapModel(translated.model, modelMap),
          upstreamPath: "/v1/chat/completions",
          bodyFor: chatBodyWriter(chat),
          profile,
          clientHeaders: anthropicUpstreamHeaders(request.headers),
        },
        session: request.headers.get("x-claude-code-session-id") ?? translated.sessionId,
        answer: {
          stream: translated.stream,
          options: {
            model: translated.model,
            stopSequences: translated.stopSequences,
            omitThinking: translated.omitThinking,
            inputTokensEstimate: profile.inputTokens,
          },
        },
      };
    },
    render: async (result, answer, meta, routerHeaders) => {
      const headers = new Headers(routerHeaders);
      headers.set("request-id", meta.requestId);
      switch (result.kind) {
        case "failed":
          return renderAnthropicFailure(result.failure, meta.requestId, headers);
        case "upstream_answer":
          return renderUpstreamAnswer(result, meta.requestId, headers);
        case "committed": {
          const options = { ...answer.options, messageId: `msg_${meta.requestId.replace(/-/g, "")}` };
          return respondTranslated(result, meta, headers, {
            stream: answer.stream ? createAnthropicStream(options) : null,
            whole: (completion) => translateResponse(completion, options),
            broken: () => renderAnthropicFailure(BROKEN_ANSWER, meta.requestId, headers),
          });
        }
      }
    },
  };
}

/** An upstream error answer passed on: its status (capacity answers as 529) in Anthropic's shape. */
async function renderUpstreamAnswer(
  result: Extract<RoutingResult, { kind: "upstream_answer" }>,
  requestId: string,
  headers: Headers,
): Promise<Response> {
  const { response } = result;
  keepRetryAfter(response, headers);
  const overloaded = result.trace.attempts.at(-1)?.reason === "upstream_overloaded";
  return renderUpstreamError(response.status, await response.text(), overloaded, requestId, headers);
}
