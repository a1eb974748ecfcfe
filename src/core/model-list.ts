// Which mode a request's `model` selects (docs/contract.md §3), and the allowlist check for list and direct modes.

export type RoutingMode =
  | { kind: "alias"; confidentialOnly: boolean }
  | { kind: "list"; models: string[] }
  | { kind: "direct"; model: string };

export type ModeResult =
  | { ok: true; mode: RoutingMode }
  | { ok: false; code: "invalid_model_list"; message: string };

export interface ModeOptions {
  aliasModel: string;
  teeAliasModel: string;
  maxModelListItems: number;
}

/** Alias (exact match), then list (contains a comma), then direct. */
export function resolveMode(model: string, options: ModeOptions): ModeResult {
  if (model === options.aliasModel) return { ok: true, mode: { kind: "alias", confidentialOnly: false } };
  if (model === options.teeAliasModel) return { ok: true, mode: { kind: "alias", confidentialOnly: true } };
  if (!model.includes(",")) return { ok: true, mode: { kind: "direct", model } };
  const models = parseModelList(model);
  if (models.length === 0) {
    return { ok: false, code: "invalid_model_list", message: "The model list is empty" };
  }
  if (models.length > options.maxModelListItems) {
    return {
      ok: false,
      code: "invalid_model_list",
      message: `The model list has ${models.length} models; at most ${options.maxModelListItems} are allowed`,
    };
  }
  return { ok: true, mode: { kind: "list", models } };
}

/** Splits on commas, trims, drops empties, de-duplicates keeping the first. */
export function parseModelList(raw: string): string[] {
  const seen = new Set<string>();
  const models: string[] = [];
  for (const part of raw.split(",")) {
    const model = part.trim();
    if (model !== "" && !seen.has(model)) {
      seen.add(model);
      models.push(model);
    }
  }
  return models;
}

/** The requested models that are not allowlisted; none when the allowlist is empty (docs/contract.md §3). */
export function findUnknownModels(models: readonly string[], allowlist: ReadonlySet<string>): string[] {
  if (allowlist.size === 0) return [];
  return models.filter((model) => !allowlist.has(model));
}
