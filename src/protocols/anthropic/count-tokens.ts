// The answer to /v1/messages/count_tokens (docs/contract.md §14, §16), without a tokenizer: the model is not
// chosen yet. The same estimate the router sizes the request by when it routes it (core/request-profile.ts),
// of the same translated body, so Claude Code compacts on the number the router itself goes by; it errs high.
import { profileChatBody } from "../../core/request-profile.ts";
import { translateRequest } from "./request.ts";

/** The estimated input tokens of a Messages request, or the field that makes it invalid. */
export function countInputTokens(body: Record<string, unknown>):
  | { ok: true; tokens: number }
  | {
      ok: false;
      message: string;
    } {
  // count_tokens takes no max_tokens; the translation needs one and the count does not depend on it.
  const translated = translateRequest({ max_tokens: 1, ...body });
  if (!translated.ok) return translated;
  return { ok: true, tokens: profileChatBody(translated.chat).inputTokens };
}
