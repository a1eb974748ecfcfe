// The valibot schemas of an OpenAI Responses request (docs/contract.md §20): the body's own fields, and each
// input item and tool kind the translation reads (request.ts checks an item against its kind's schema, so an
// item of a kind it drops is never refused for its shape). A refused field is named by schema-issues.ts.
import * as v from "valibot";

const STRING = v.string("must be a string");
const NON_EMPTY_STRING = v.pipe(STRING, v.nonEmpty("must not be empty"));
const OBJECT = v.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  "must be an object",
);
const optionalNumber = v.nullish(v.pipe(v.number("must be a number"), v.finite("must be a number")));

/** A content part of a message or of a tool's output. Parts of other kinds are checked by request.ts. */
export const CONTENT_PART = v.looseObject({ type: STRING }, "must be an object");
export type ContentPart = v.InferOutput<typeof CONTENT_PART>;

export const TEXT_PART = v.looseObject({ type: STRING, text: STRING });
export const IMAGE_PART = v.looseObject({
  type: v.literal("input_image"),
  image_url: v.nullish(STRING),
  file_id: v.nullish(STRING),
  detail: v.nullish(STRING),
});

export const MESSAGE_ITEM = v.looseObject({
  type: v.optional(v.literal("message")),
  role: v.picklist(
    ["user", "assistant", "system", "developer"],
    'must be "user", "assistant", "system" or "developer"',
  ),
  content: v.union([STRING, v.array(CONTENT_PART)], "must be a string or an array of content parts"),
});

export const FUNCTION_CALL_ITEM = v.looseObject({
  type: v.literal("function_call"),
  call_id: NON_EMPTY_STRING,
  name: NON_EMPTY_STRING,
  namespace: v.nullish(STRING),
  arguments: v.nullish(STRING),
});

export const CUSTOM_TOOL_CALL_ITEM = v.looseObject({
  type: v.literal("custom_tool_call"),
  call_id: NON_EMPTY_STRING,
  name: NON_EMPTY_STRING,
  namespace: v.nullish(STRING),
  input: v.nullish(STRING),
});

export const TOOL_OUTPUT_ITEM = v.looseObject({
  type: v.picklist(["function_call_output", "custom_tool_call_output"]),
  call_id: NON_EMPTY_STRING,
  output: v.union([STRING, v.array(CONTENT_PART)], "must be a string or an array of content parts"),
});

export const FUNCTION_TOOL = v.looseObject({
  type: v.literal("function"),
  name: NON_EMPTY_STRING,
  description: v.nullish(STRING),
  parameters: v.nullish(OBJECT),
});

export const CUSTOM_TOOL = v.looseObject({
  type: v.literal("custom"),
  name: NON_EMPTY_STRING,
  description: v.nullish(STRING),
  format: v.nullish(OBJECT),
});

export const NAMESPACE_TOOL = v.looseObject({
  type: v.literal("namespace"),
  name: NON_EMPTY_STRING,
  description: v.nullish(STRING),
  tools: v.array(OBJECT, "must be an array of tools"),
});

const TEXT_FORMAT = v.variant(
  "type",
  [
    v.looseObject({ type: v.literal("text") }),
    v.looseObject({ type: v.literal("json_object") }),
    v.looseObject({
      type: v.literal("json_schema"),
      name: v.nullish(STRING),
      schema: OBJECT,
      strict: v.nullish(v.boolean("must be true or false")),
      description: v.nullish(STRING),
    }),
  ],
  'must have type "text", "json_object" or "json_schema"',
);

export const RESPONSES_REQUEST = v.looseObject(
  {
    model: v.pipe(v.string("must be a model name"), v.trim(), v.nonEmpty("must not be empty")),
    input: v.union(
      [STRING, v.array(OBJECT, "must be an array of items")],
      "must be a string or an array of items",
    ),
    instructions: v.nullish(STRING),
    stream: v.nullish(v.boolean("must be true or false")),
    max_output_tokens: v.nullish(
      v.pipe(
        v.number("must be an integer"),
        v.integer("must be an integer"),
        v.minValue(1, "must be at least 1"),
      ),
    ),
    temperature: optionalNumber,
    top_p: optionalNumber,
    tools: v.nullish(v.array(OBJECT, "must be an array of tools")),
    tool_choice: v.nullish(
      v.union(
        [v.picklist(["auto", "none", "required"]), OBJECT],
        'must be "auto", "none", "required" or an object',
      ),
    ),
    parallel_tool_calls: v.nullish(v.boolean("must be true or false")),
    text: v.nullish(v.looseObject({ format: v.nullish(TEXT_FORMAT) }, "must be an object")),
    reasoning: v.nullish(
      v.looseObject({ effort: v.nullish(STRING), summary: v.nullish(STRING) }, "must be an object"),
    ),
    prompt_cache_key: v.nullish(STRING),
    store: v.nullish(v.boolean("must be true or false")),
    background: v.nullish(v.boolean("must be true or false")),
    previous_response_id: v.nullish(STRING),
    conversation: v.nullish(v.unknown()),
    prompt: v.nullish(v.unknown()),
    metadata: v.nullish(v.unknown()),
  },
  "must be a JSON object",
);
export type ResponsesRequest = v.InferOutput<typeof RESPONSES_REQUEST>;
