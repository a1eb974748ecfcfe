// The valibot schema of an Anthropic Messages request (docs/contract.md §14); a refused field is named by
// schema-issues.ts. request.ts translates what passes.
import * as v from "valibot";

const STRING = v.string("must be a string");
const NON_EMPTY_STRING = v.pipe(STRING, v.nonEmpty("must not be empty"));
const OBJECT = v.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  "must be an object",
);

const TEXT_BLOCK = v.object({ type: v.literal("text"), text: STRING });
const IMAGE_BLOCK = v.object({
  type: v.literal("image"),
  source: v.variant(
    "type",
    [
      v.object({
        type: v.literal("base64"),
        media_type: STRING,
        data: v.string("must be a base64 string"),
      }),
      v.object({ type: v.literal("url"), url: v.string("must be a URL") }),
    ],
    "must be a base64 or url image source",
  ),
});
const TOOL_USE_BLOCK = v.object({
  type: v.literal("tool_use"),
  id: NON_EMPTY_STRING,
  name: NON_EMPTY_STRING,
  input: OBJECT,
});
// A deferred tool made callable by a tool search (Claude Code's ToolSearch returns these).
const TOOL_REFERENCE_BLOCK = v.object({ type: v.literal("tool_reference"), tool_name: NON_EMPTY_STRING });
const TOOL_RESULT_BLOCK = v.object({
  type: v.literal("tool_result"),
  tool_use_id: NON_EMPTY_STRING,
  content: v.nullish(
    v.union(
      [
        STRING,
        v.array(
          v.variant(
            "type",
            [TEXT_BLOCK, IMAGE_BLOCK, TOOL_REFERENCE_BLOCK],
            "must be a text, image or tool_reference block",
          ),
        ),
      ],
      "must be a string or an array of text, image and tool_reference blocks",
    ),
  ),
  is_error: v.nullish(v.boolean("must be true or false")),
});
// Dropped in translation, so only their type is checked.
const THINKING_BLOCK = v.looseObject({ type: v.picklist(["thinking", "redacted_thinking"]) });
const BLOCK = v.variant(
  "type",
  [TEXT_BLOCK, IMAGE_BLOCK, TOOL_USE_BLOCK, TOOL_RESULT_BLOCK, THINKING_BLOCK],
  "must be a text, image, tool_use, tool_result or thinking block",
);
export type Block = v.InferOutput<typeof BLOCK>;

const OUTPUT_FORMAT = v.looseObject(
  { type: v.literal("json_schema", 'must be "json_schema"'), schema: OBJECT },
  "must be an object",
);

const optionalNumber = v.nullish(v.pipe(v.number("must be a number"), v.finite("must be a number")));
export const MESSAGES_REQUEST = v.object(
  {
    model: v.pipe(v.string("must be a model name"), v.trim(), v.nonEmpty("must not be empty")),
    messages: v.pipe(
      v.array(
        v.object(
          {
            // Claude Code sends `system` entries inside the conversation (mid-conversation system messages).
            role: v.picklist(["user", "assistant", "system"], 'must be "user", "assistant" or "system"'),
            content: v.union([STRING, v.array(BLOCK)], "must be a string or an array of blocks"),
          },
          "must be an object",
        ),
        "must be an array",
      ),
      v.nonEmpty("must not be empty"),
    ),
    max_tokens: v.pipe(
      v.number("must be an integer"),
      v.integer("must be an integer"),
      v.minValue(1, "must be at least 1"),
    ),
    system: v.nullish(v.union([STRING, v.array(TEXT_BLOCK)], "must be a string or an array of text blocks")),
    stop_sequences: v.nullish(v.array(STRING, "must be an array of strings")),
    temperature: optionalNumber,
    top_p: optionalNumber,
    top_k: v.nullish(v.pipe(v.number("must be an integer"), v.integer("must be an integer"))),
    stream: v.nullish(v.boolean("must be true or false")),
    tools: v.nullish(
      v.array(
        v.object(
          {
            type: v.nullish(STRING),
            name: NON_EMPTY_STRING,
            description: v.nullish(STRING),
            input_schema: v.nullish(OBJECT),
            // Left out of the model's context until a tool search loads it (Claude Code's ToolSearch).
            defer_loading: v.nullish(v.boolean("must be true or false")),
          },
          "must be an object",
        ),
        "must be an array",
      ),
    ),
    tool_choice: v.nullish(
      v.variant(
        "type",
        [
          v.object({
            type: v.picklist(["auto", "any", "none"]),
            disable_parallel_tool_use: v.nullish(v.boolean()),
          }),
          v.object({
            type: v.literal("tool"),
            name: NON_EMPTY_STRING,
            disable_parallel_tool_use: v.nullish(v.boolean()),
          }),
        ],
        'must have type "auto", "any", "tool" or "none"',
      ),
    ),
    thinking: v.nullish(
      v.looseObject(
        {
          type: STRING,
          budget_tokens: v.nullish(v.pipe(v.number("must be a number"), v.integer("must be an integer"))),
          display: v.nullish(STRING),
        },
        "must be an object",
      ),
    ),
    output_config: v.nullish(
      v.looseObject({ effort: v.nullish(STRING), format: v.nullish(OUTPUT_FORMAT) }, "must be an object"),
    ),
    // The structured-outputs beta's spelling before output_config.format.
    output_format: v.nullish(OUTPUT_FORMAT),
    metadata: v.optional(v.unknown()),
  },
  "must be a JSON object",
);
