// The answer to /v1/messages/count_tokens (docs/contract.md §14), without a tokenizer: the model is not chosen yet.
// Claude Code compacts on it, so it errs high: ceil(UTF-8 bytes / 3) of all text, tool names, inputs and definitions
// (tokenizers average 3.5–4.5 bytes a token), plus 8 per message and 1600 per image.

const BYTES_PER_TOKEN = 3;
const TOKENS_PER_MESSAGE = 8;
const TOKENS_PER_IMAGE = 1600;
const UTF8 = new TextEncoder();

/** An estimate of a Messages request's input tokens that errs high; any body shape is accepted. */
export function estimateInputTokens(body: unknown): number {
  if (!isRecord(body)) return 0;
  const tally: Tally = { bytes: 0, images: 0 };
  countContent(body.system, tally);
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const message of messages) countContent(isRecord(message) ? message.content : message, tally);
  if (Array.isArray(body.tools)) for (const tool of body.tools) tally.bytes += jsonBytes(tool);
  return (
    Math.ceil(tally.bytes / BYTES_PER_TOKEN) +
    TOKENS_PER_MESSAGE * messages.length +
    TOKENS_PER_IMAGE * tally.images
  );
}

type Tally = { bytes: number; images: number };

function countContent(content: unknown, tally: Tally): void {
  if (content == null) return;
  if (typeof content === "string") {
    tally.bytes += utf8Bytes(content);
    return;
  }
  if (!Array.isArray(content)) {
    tally.bytes += jsonBytes(content);
    return;
  }
  for (const block of content) countBlock(block, tally);
}

function countBlock(block: unknown, tally: Tally): void {
  if (!isRecord(block)) {
    countContent(block, tally);
    return;
  }
  switch (block.type) {
    case "text":
      countContent(block.text, tally);
      break;
    case "thinking":
      countContent(block.thinking, tally);
      break;
    // An image costs tokens by its pixels, not its base64 length; 1600 is about Anthropic's own charge for the
    // largest image it takes without downscaling (1092 × 1092 px / 750).
    case "image":
      tally.images += 1;
      break;
    case "tool_use":
      tally.bytes += utf8Bytes(String(block.name ?? "")) + jsonBytes(block.input ?? {});
      break;
    case "tool_result":
      countContent(block.content, tally);
      break;
    // Unknown and opaque blocks (redacted thinking, documents): all of their JSON, which errs high.
    default:
      tally.bytes += jsonBytes(block);
  }
}

function jsonBytes(value: unknown): number {
  return utf8Bytes(JSON.stringify(value) ?? "");
}

function utf8Bytes(text: string): number {
  return UTF8.encode(text).length;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
