// The OpenAI protocol adapter for POST /v1/chat/completions and /v1/completions (docs/contract.md §2–§9): the
// client's own JSON is routed with only `model` replaced (every other byte kept), and answered in OpenAI's
// shape: upstream answers pass through untouched, a committed stream is relayed as is.
import { bodyRewriter } from "../../core/body-rewrite.ts";
import { readRequestedModel } from "../../core/completion-body.ts";
import { profileChatBody, profileCompletionBody } from "../../core/request-profile.ts";
import { extractToken } from "../../core/sticky-key.ts";
import type { StreamFraming } from "../../upstream/relay.ts";
import type { ProtocolAdapter } from "../handle.ts";
import { relayCommitted } from "../respond.ts";
import { openAIStreamErrorEvent, renderOpenAIFailure } from "./errors.ts";

/** OpenAI streams are relayed byte for byte; only a broken one gains the closing error event. */
const OPENAI_FRAMING: StreamFraming = { transform: null, finish: null, errorEvent: openAIStreamErrorEvent };

type UpstreamPath = "/v1/chat/completions" | "/v1/completions";

/** The adapter for one of the two OpenAI completion paths. */
export function openAIAdapter(upstreamPath: UpstreamPath): ProtocolAdapter<null> {
  return {
    protocol: upstreamPath === "/v1/chat/completions" ? "openai.chat" : "openai.completions",
    credential: (headers) => extractToken(headers.get("authorization")),
    parse: (rawBody, request) => {
      // The parsed body goes out of scope here: only the raw text is kept (every attempt's body is rewritten
      // from it), so a large request is not held twice while it streams.
      const requested = readRequestedModel(rawBody);
      if (!requested.ok) return requested.failure;
      const profile =
        upstreamPath === "/v1/chat/completions"
          ? profileChatBody(requested.body)
          : profileCompletionBody(requested.body);
      const { model } = requested;
      return {
        request: {
          model,
          upstreamPath,
          bodyFor: bodyRewriter(rawBody),
          profile,
          clientHeaders: request.headers,
        },
        answer: null,
      };
    },
    render: (result, _answer, meta, headers) => {
      if (result.kind === "failed") return renderOpenAIFailure(result.failure, headers);
      const upstream = result.kind === "committed" ? result.commit.response : result.response;
      const merged = new Headers(upstream.headers);
      for (const name in headers) merged.set(name, headers[name] as string);
      const init = { status: upstream.status, statusText: upstream.statusText, headers: merged };
      if (result.kind === "upstream_answer") return new Response(upstream.body, init);
      merged.delete("content-length");
      return new Response(relayCommitted(result, OPENAI_FRAMING, meta), init);
    },
  };
}
