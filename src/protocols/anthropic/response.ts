// A whole (non-streamed) OpenAI chat completion → an Anthropic message (docs/contract.md §14). Streams are
// translated in stream.ts; both follow the same block order, stop_reason and usage rules.
import * as v from "valibot";
import { encodeToolId } from "./tool-ids.ts";

const optionalText = v.nullish(v.string());
const optionalCount = v.nullish(v.pipe(v.number(), v.finite()));

const COMPLETION = v.looseObject({
  choices: v.pipe(
    v.array(
      v.looseObject({
        message: v.looseObject({
          content: optionalText,
          // vLLM renamed reasoning_content to reasoning; other servers still send the old name.
          reasoning_content: optionalText,
          reasoning: optionalText,
          tool_calls: v.nullish(
            v.array(
              v.looseObject({
                id: optionalText,
                function: v.looseObject({ name: v.string(), arguments: optionalText }),
              }),
            ),
          ),
        }),
        finish_reason: optionalText,
        // vLLM's extra field: the stop string (or token id) that ended the answer.
        stop_reason: v.nullish(v.union([v.string(), v.number()])),
      }),
    ),
    v.nonEmpty(),
  ),
  usage: v.nullish(
    v.looseObject({
      prompt_tokens: optionalCount,
      completion_tokens: optionalCount,
      prompt_tokens_details: v.nullish(v.looseObject({ cached_tokens: optionalCount })),
    }),
  ),
});

/** What the route knows that the completion does not. */
export type ResponseContext = {
  model: string;
  messageId: string;
  stopSequences: readonly string[];
  /** `thinking.display: "omitted"`: the thinking block is sent without its text, as Anthropic does. */
  omitThinking?: boolean;
};

/** The Anthropic message for a chat completion, or null when the body is not a chat completion. */
export function translateResponse(
  completion: unknown,
  context: ResponseContext,
): Record<string, unknown> | null {
  const parsed = v.safeParse(COMPLETION, completion);
  if (!parsed.success) return null;
  const choice = parsed.output.choices[0];
  if (choice === undefined) return null;
  const { message } = choice;

  const content: Record<string, unknown>[] = [];
  const thinking = [message.reasoning_content, message.reasoning].find((text) => text != null && text !== "");
  // Claude Code refuses a thinking block without a signature; an empty one is accepted.
  if (thinking != null)
    content.push({ type: "thinking", thinking: context.omitThinking ? "" : thinking, signature: "" });
  if (message.content != null && message.content !== "")
    content.push({ type: "text", text: message.content });
  let truncatedArguments = false;
  for (const [index, call] of (message.tool_calls ?? []).entries()) {
    const input = parseArguments(call.function.arguments);
    if (input === null) truncatedArguments = true;
    content.push({
      type: "tool_use",
      id: encodeToolId(call.id ?? `call_${index}`),
      name: call.function.name,
      input: input ?? {},
    });
  }

  const stop = stopReasonFor(choice, context.stopSequences);
  const hasToolUse = content.some((block) => block.type === "tool_use");
  // Arguments that do not parse mean the answer was cut off (vLLM can report that as a plain stop), so the
  // client should not run the call; this outranks tool_use.
  const stopReason = truncatedArguments ? "max_tokens" : hasToolUse ? "tool_use" : stop.reason;
  const usage = parsed.output.usage;
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    id: context.messageId,
    type: "message",
    role: "assistant",
    model: context.model,
    content,
    stop_reason: stopReason,
    stop_sequence: stopReason === "stop_sequence" ? stop.sequence : null,
    usage: {
      input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
      output_tokens: usage?.completion_tokens ?? 0,
      cache_read_input_tokens: cached,
    },
  };
}

type Choice = v.InferOutput<typeof COMPLETION>["choices"][number];

// tool_calls is left to the tool_use override above: without a tool block to run, the client would wait for
// results it cannot send. content_filter has no Anthropic counterpart and ends the turn.
function stopReasonFor(
  choice: Choice,
  stopSequences: readonly string[],
): { reason: string; sequence: string | null } {
  switch (choice.finish_reason) {
    case "length":
      return { reason: "max_tokens", sequence: null };
    case "stop": {
      const matched = typeof choice.stop_reason === "string" && stopSequences.includes(choice.stop_reason);
      return matched
        ? { reason: "stop_sequence", sequence: String(choice.stop_reason) }
        : { reason: "end_turn", sequence: null };
    }
    default:
      return { reason: "end_turn", sequence: null };
  }
}

/** The tool input, {} for empty arguments, or null when they are not a JSON object. */
function parseArguments(text: string | null | undefined): Record<string, unknown> | null {
  if (text == null || text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
