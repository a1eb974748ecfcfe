// For a streamed Anthropic request whose upstream answered with one JSON body instead of SSE (an upstream that
// ignores `stream: true`): the chat completion as the SSE chunks a streaming upstream would have sent, so the
// same stream machine (stream.ts) turns it into Anthropic events and nothing is translated twice.

type Json = Record<string, unknown>;

/** The SSE text of a whole chat completion, or null when the body is not one. */
export function completionAsSse(completion: unknown): string | null {
  if (!isObject(completion) || !Array.isArray(completion.choices)) return null;
  const choice = completion.choices[0];
  if (!isObject(choice) || !isObject(choice.message)) return null;
  const { message } = choice;
  const chunk = (choices: unknown[], extra: Json = {}) =>
    `data: ${JSON.stringify({ choices, ...extra })}\n\n`;
  const delta = (fields: Json) => chunk([{ index: 0, delta: fields }]);
  let sse = "";
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === "string" && reasoning !== "") sse += delta({ reasoning_content: reasoning });
  if (typeof message.content === "string" && message.content !== "")
    sse += delta({ content: message.content });
  if (Array.isArray(message.tool_calls)) {
    message.tool_calls.forEach((call, index) => {
      if (isObject(call))
        sse += delta({ tool_calls: [{ index, id: call.id, type: "function", function: call.function }] });
    });
  }
  const finish: Json = { index: 0, delta: {}, finish_reason: choice.finish_reason ?? "stop" };
  if (choice.stop_reason !== undefined) finish.stop_reason = choice.stop_reason;
  sse += chunk([finish]);
  if (isObject(completion.usage)) sse += chunk([], { usage: completion.usage });
  return `${sse}data: [DONE]\n\n`;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
