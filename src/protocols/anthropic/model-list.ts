// GET /v1/models in Anthropic's list shape (docs/contract.md §14, §16), for a request that sends
// `anthropic-version` (the Anthropic SDKs, Claude Code's model discovery): the same models, with Anthropic's
// own names for the same facts (`max_input_tokens`, `max_tokens`, `capabilities`).
import type { ListedModel } from "../../routing/model-listing.ts";

export function anthropicModelList(listed: readonly ListedModel[]) {
  const data = listed.map((model) => ({
    type: "model",
    id: model.openai.id,
    display_name: model.openai.id,
    created_at: new Date(model.created * 1000).toISOString(),
    max_input_tokens: model.windowTokens,
    max_tokens: model.maxOutputTokens,
    capabilities: anthropicCapabilities(model),
  }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

/** Anthropic's `capabilities` object for what is known: image input, structured outputs, thinking. */
function anthropicCapabilities(model: ListedModel): Record<string, { supported: boolean }> {
  const capabilities: Record<string, { supported: boolean }> = {};
  const add = (name: string, supported: boolean | null) => {
    if (supported !== null) capabilities[name] = { supported };
  };
  add("image_input", model.images);
  add("structured_outputs", model.structuredOutputs);
  add("thinking", model.reasoning);
  return capabilities;
}
