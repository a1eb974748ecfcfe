// What an inference engine refuses before it generates (research/capability-routing.md §2): a prompt longer
// than its window, a prompt plus `max_tokens` beyond it, tools without a tool parser, images to a text-only
// model or more images than it takes, each answered in vLLM's or SGLang's own wording. Pure (no node: imports),
// so the router's workerd tests can play an engine with it too. The prompt is counted the way a real tokenizer
// roughly would (four characters of text a token, a fixed cost per image): lower than the router's estimate,
// which errs high, as real tokenizers are.

/** What one engine serves; `null` window means no limit is enforced. */
export type EngineLimits = {
  windowTokens: number | null;
  tools: boolean;
  images: boolean;
  /** The most images one request may carry (vLLM's --limit-mm-per-prompt); default unlimited. */
  maxImages?: number;
  /**
   * Whose wording and shape: vLLM (nested `{"error":…}`), SGLang (flat `{"object":"error",…}` wrapped by
   * Chutes in `{"detail":…}`), or older SGLang refusing inside a 200 stream (`data: {"error":…}` first).
   */
  engine?: "vllm" | "sglang" | "sglang-stream";
};

export type EngineRefusal = { kind: "status"; status: 400; body: string } | { kind: "stream"; body: string };

const TOKENS_PER_IMAGE = 1_000;
const TOKENS_PER_MESSAGE = 4;

/** The engine's refusal of `request` sent to `model`, or null when it would serve it. */
export function refuseIfUnfit(
  model: string,
  request: Record<string, unknown>,
  limits: EngineLimits,
): EngineRefusal | null {
  const message = refusalMessage(model, request, limits);
  if (message === null) return null;
  switch (limits.engine ?? "vllm") {
    case "vllm":
      return {
        kind: "status",
        status: 400,
        body: JSON.stringify({ error: { message, type: "BadRequestError", param: null, code: 400 } }),
      };
    case "sglang":
      return {
        kind: "status",
        status: 400,
        body: JSON.stringify({
          detail: JSON.stringify({ object: "error", message, type: "BadRequestError", code: 400 }),
        }),
      };
    case "sglang-stream":
      return {
        kind: "stream",
        body: `data: ${JSON.stringify({ error: { message, code: 400 } })}\n\ndata: [DONE]\n\n`,
      };
  }
}

function refusalMessage(
  model: string,
  request: Record<string, unknown>,
  limits: EngineLimits,
): string | null {
  const { prompt, images } = countPrompt(request);
  const sglang = limits.engine === "sglang" || limits.engine === "sglang-stream";
  if (images > 0 && !limits.images) return `${model} is not a multimodal model`;
  if (limits.maxImages !== undefined && images > limits.maxImages)
    return `At most ${limits.maxImages} image(s) may be provided in one request.`;
  const tools = Array.isArray(request.tools) && request.tools.length > 0 && request.tool_choice !== "none";
  if (tools && !limits.tools)
    return '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set';
  const window = limits.windowTokens;
  if (window === null) return null;
  const output = requested(request);
  if (prompt >= window) {
    return sglang
      ? `The input (${prompt} tokens) is longer than the model's context length (${window} tokens).`
      : `This model's maximum context length is ${window} tokens. However, your request has ${prompt} input tokens. Please reduce the length of the input messages. (parameter=input_tokens, value=${prompt})`;
  }
  if (output !== null && prompt + output >= window) {
    return sglang
      ? `Requested token count exceeds the model's maximum context length of ${window} tokens. You requested a total of ${prompt + output} tokens: ${prompt} tokens from the input messages and ${output} tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit.`
      : `'max_tokens' or 'max_completion_tokens' is too large: ${output}. This model's maximum context length is ${window} tokens and your request has ${prompt} input tokens (${output} > ${window} - ${prompt}).`;
  }
  return null;
}

/** The prompt's tokens as the engine counts them, and its images. */
export function countPrompt(request: Record<string, unknown>): { prompt: number; images: number } {
  let chars = 0;
  let images = 0;
  let messages = 0;
  const visit = (value: unknown, key: string | null): void => {
    if (typeof value === "string") {
      // A data: URL is an image's bytes, not text.
      if (key === "url" && value.startsWith("data:")) return;
      chars += value.length;
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, key);
    } else if (typeof value === "object" && value !== null) {
      const record = value as Record<string, unknown>;
      if (record.type === "image_url") images += 1;
      for (const [name, inner] of Object.entries(record)) visit(inner, name);
    }
  };
  if (Array.isArray(request.messages)) {
    messages = request.messages.length;
    visit(request.messages, null);
  }
  if (typeof request.prompt === "string") chars += request.prompt.length;
  if (Array.isArray(request.tools)) chars += JSON.stringify(request.tools).length;
  return { prompt: Math.ceil(chars / 4) + TOKENS_PER_MESSAGE * messages + TOKENS_PER_IMAGE * images, images };
}

function requested(request: Record<string, unknown>): number | null {
  for (const field of ["max_completion_tokens", "max_tokens"]) {
    const value = request[field];
    if (typeof value === "number" && value > 0) return value;
  }
  return null;
}

/** An engine serving what a models-feed entry states: its window, tools and images. */
export function limitsFromEntry(entry: Record<string, unknown>): EngineLimits {
  const windows = [entry.context_length, entry.max_model_len].filter(
    (value): value is number => typeof value === "number" && value > 0,
  );
  const modalities = Array.isArray(entry.input_modalities) ? entry.input_modalities : ["text"];
  const features = Array.isArray(entry.supported_features) ? entry.supported_features : [];
  return {
    windowTokens: windows.length > 0 ? Math.min(...windows) : null,
    tools: features.includes("tools"),
    images: modalities.includes("image"),
    engine: entry.owned_by === "sglang" ? "sglang" : "vllm",
  };
}

/** Checks `{windowTokens, tools, images, maxImages?, engine?}` (or null) from the admin endpoint. */
export function parseEngineLimits(
  input: unknown,
): { ok: true; value: EngineLimits | null } | { ok: false; error: string } {
  if (input === null) return { ok: true, value: null };
  if (typeof input !== "object" || Array.isArray(input))
    return { ok: false, error: "limits must be an object or null" };
  const { windowTokens, tools, images, maxImages, engine } = input as Record<string, unknown>;
  if (windowTokens !== null && !(typeof windowTokens === "number" && windowTokens > 0))
    return { ok: false, error: "windowTokens must be a positive number or null" };
  if (typeof tools !== "boolean" || typeof images !== "boolean")
    return { ok: false, error: "tools and images must be true or false" };
  if (maxImages !== undefined && !(typeof maxImages === "number" && maxImages >= 0))
    return { ok: false, error: "maxImages must be a number" };
  if (engine !== undefined && engine !== "vllm" && engine !== "sglang" && engine !== "sglang-stream")
    return { ok: false, error: "engine must be vllm, sglang or sglang-stream" };
  return {
    ok: true,
    value: {
      windowTokens,
      tools,
      images,
      ...(maxImages === undefined ? {} : { maxImages }),
      ...(engine === undefined ? {} : { engine }),
    },
  };
}
