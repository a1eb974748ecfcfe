// What a request needs from a model (docs/contract.md §16), computed once per request from the OpenAI chat or
// completions body a protocol adapter routes (the Anthropic adapter profiles the body it translated to):
// its estimated prompt tokens, the output it asked for, and the capabilities it needs. Protocol-neutral, so
// the planner judges every protocol's requests alike.
import { imageTokens, UNMEASURED_IMAGE_TOKENS } from "./image-tokens.ts";
import { DataUrl } from "./json-parts.ts";
import { jsonWeight, TOKENS_PER_MESSAGE, textWeight, weightToTokens } from "./token-estimate.ts";

export interface RequestNeeds {
  /** Tools were sent and `tool_choice` is not `none`. */
  tools: boolean;
  /** Images anywhere in the conversation. */
  images: number;
  /** `response_format` `json_schema`: structured outputs. */
  jsonSchema: boolean;
  /** `response_format` `json_object`: JSON mode. */
  jsonObject: boolean;
}

export interface RequestProfile {
  /** Prompt tokens: the estimate (errs high) until an engine reports its own count. */
  inputTokens: number;
  /** True once `inputTokens` is an engine's count rather than the estimate. */
  inputCounted: boolean;
  /** The output the client asked for (`max_completion_tokens`, else `max_tokens`); null when it set none. */
  requestedOutputTokens: number | null;
  needs: RequestNeeds;
  /**
   * What continuing a broken answer needs (docs/contract.md §19): the stop sequences to honour across the seam.
   * Absent when the answer cannot be continued: not a chat completion, more than one choice, a response
   * format (a grammar cannot resume half-written JSON), or a client that prefills the answer itself.
   */
  continuation?: { stop: string[] };
}

/** Tokens a chat template adds to describe the tools (instructions, wrappers), besides their JSON. */
const TOOLS_OVERHEAD_TOKENS = 300;

/** The profile of an OpenAI chat-completions body. */
export function profileChatBody(body: Readonly<Record<string, unknown>>): RequestProfile {
  const tally: Tally = { weight: 0, imageTokens: 0, images: 0, messages: 0 };
  if (Array.isArray(body.messages)) for (const message of body.messages) tallyMessage(message, tally);
  const tools = Array.isArray(body.tools) ? body.tools : [];
  if (tools.length > 0) tally.weight += jsonWeight(tools);
  const inputTokens =
    weightToTokens(tally.weight) +
    tally.imageTokens +
    TOKENS_PER_MESSAGE * tally.messages +
    (tools.length > 0 ? TOOLS_OVERHEAD_TOKENS : 0);
  const format = isRecord(body.response_format) ? body.response_format.type : undefined;
  const profile: RequestProfile = {
    inputTokens,
    inputCounted: false,
    requestedOutputTokens: requestedOutput(body),
    needs: {
      tools: tools.length > 0 && body.tool_choice !== "none",
      images: tally.images,
      jsonSchema: format === "json_schema",
      jsonObject: format === "json_object",
    },
  };
  const continuable =
    (body.n === undefined || body.n === null || body.n === 1) &&
    (body.response_format === undefined || body.response_format === null || format === "text") &&
    body.continue_final_message !== true &&
    body.echo !== true;
  if (continuable) profile.continuation = { stop: stopSequences(body.stop) };
  return profile;
}

/** A chat body's `stop`: one string or a list of them. */
function stopSequences(stop: unknown): string[] {
  const all = typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : [];
  return all.filter((each): each is string => typeof each === "string" && each !== "");
}

/** The profile of an OpenAI (legacy) completions body: a prompt, as text or token ids. */
export function profileCompletionBody(body: Readonly<Record<string, unknown>>): RequestProfile {
  const prompts = Array.isArray(body.prompt) ? body.prompt : [body.prompt];
  let weight = 0;
  let counted = 0;
  for (const prompt of prompts) {
    if (typeof prompt === "string") weight += textWeight(prompt);
    else if (typeof prompt === "number") counted += 1;
    else if (Array.isArray(prompt)) counted += prompt.length;
  }
  return {
    inputTokens: weightToTokens(weight) + counted,
    inputCounted: false,
    requestedOutputTokens: requestedOutput(body),
    needs: { tools: false, images: 0, jsonSchema: false, jsonObject: false },
  };
}

/** The output a body asks for: `max_completion_tokens`, else `max_tokens` (engines read them in that order). */
export function requestedOutput(body: Readonly<Record<string, unknown>>): number | null {
  for (const field of ["max_completion_tokens", "max_tokens"]) {
    const value = body[field];
    if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
  }
  return null;
}

interface Tally {
  weight: number;
  imageTokens: number;
  images: number;
  messages: number;
}

function tallyMessage(message: unknown, tally: Tally): void {
  if (!isRecord(message)) return;
  tally.messages += 1;
  tallyContent(message.content, tally);
  if (typeof message.reasoning_content === "string") tally.weight += textWeight(message.reasoning_content);
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      const fn = isRecord(call) && isRecord(call.function) ? call.function : null;
      if (!fn) continue;
      if (typeof fn.name === "string") tally.weight += textWeight(fn.name);
      if (typeof fn.arguments === "string") tally.weight += textWeight(fn.arguments);
    }
  }
}

function tallyContent(content: unknown, tally: Tally): void {
  if (typeof content === "string") {
    tally.weight += textWeight(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (!isRecord(part)) continue;
    if (typeof part.text === "string") {
      tally.weight += textWeight(part.text);
      continue;
    }
    const image = part.type === "image_url" ? part.image_url : undefined;
    const url = typeof image === "string" ? image : isRecord(image) ? image.url : undefined;
    if (typeof url === "string" || url instanceof DataUrl) {
      tally.images += 1;
      tally.imageTokens += imageTokens(url);
      continue;
    }
    // Parts the router does not know (audio, files): their JSON, which errs high, without base64 payloads
    // (media is not text); each such payload costs what an unmeasured image does.
    tally.weight += jsonWeight(part, (_key, value) => {
      if (typeof value !== "string" || !looksLikeBase64(value)) return value;
      tally.imageTokens += UNMEASURED_IMAGE_TOKENS;
      return "";
    });
  }
}

const BASE64_PAYLOAD = /^(data:[^,]*,)?[A-Za-z0-9+/=\s]{1024,}$/;

function looksLikeBase64(value: string): boolean {
  return value.length >= 1024 && BASE64_PAYLOAD.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
