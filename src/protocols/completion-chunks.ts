// A whole (non-streamed) chat completion as the chunks a streaming upstream would have sent for it, so the one
// translation (answer.ts) serves whole answers too: a non-streamed Anthropic request (response.ts), and a
// streamed one whose upstream ignored `stream: true` and answered with one JSON body.
import * as v from "valibot";

type Json = Record<string, unknown>;

const optionalText = v.nullish(v.string());
const optionalCount = v.nullish(v.pipe(v.number(), v.finite()));

/** What a chat completion must look like to be translated. */
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

/** The chunks of a chat completion (reasoning, text, each tool call, the finish, the usage), or null when the
 * body is not a chat completion. */
export function completionChunks(completion: unknown): Json[] | null {
  const parsed = v.safeParse(COMPLETION, completion);
  if (!parsed.success) return null;
  const [choice] = parsed.output.choices;
  if (choice === undefined) return null;
  const { message } = choice;
  const chunks: Json[] = [];
  const delta = (fields: Json) => chunks.push({ choices: [{ index: 0, delta: fields }] });
  const reasoning = [message.reasoning_content, message.reasoning].find(
    (text) => text != null && text !== "",
  );
  if (reasoning != null) delta({ reasoning_content: reasoning });
  if (message.content != null && message.content !== "") delta({ content: message.content });
  for (const [index, call] of (message.tool_calls ?? []).entries()) {
    const id = call.id ?? `call_${index}`;
    delta({ tool_calls: [{ index, id, type: "function", function: call.function }] });
  }
  const finish: Json = { index: 0, delta: {}, finish_reason: choice.finish_reason ?? "stop" };
  if (choice.stop_reason != null) finish.stop_reason = choice.stop_reason;
  chunks.push({ choices: [finish] });
  if (parsed.output.usage != null) chunks.push({ choices: [], usage: parsed.output.usage });
  return chunks;
}
