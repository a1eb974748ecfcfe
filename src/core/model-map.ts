// ANTHROPIC_MODEL_MAP (docs/contract.md §14): Anthropic clients name Claude models, Chutes serves open ones.
// Comma-separated `pattern=target` pairs; `*` in a pattern matches any run of characters; the first match
// wins; a name no pattern matches is used as it is. The target then picks a mode like any model (§3).

export interface ModelMapping {
  pattern: string;
  target: string;
}

/** Parses `a=b,c*=d`; null when a pair has no `=` or an empty side. */
export function parseModelMap(raw: string): ModelMapping[] | null {
  const mappings: ModelMapping[] = [];
  for (const pair of raw.split(",")) {
    if (pair.trim() === "") continue;
    const separator = pair.indexOf("=");
    if (separator === -1) return null;
    const pattern = pair.slice(0, separator).trim();
    const target = pair.slice(separator + 1).trim();
    if (pattern === "" || target === "") return null;
    mappings.push({ pattern, target });
  }
  return mappings;
}

/** The model a requested name maps to. */
export function mapModel(requested: string, mappings: readonly ModelMapping[]): string {
  for (const { pattern, target } of mappings) {
    if (patternMatches(pattern, requested)) return target;
  }
  return requested;
}

function patternMatches(pattern: string, name: string): boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === name;
  const first = parts[0] as string;
  const last = parts.at(-1) as string;
  if (!name.startsWith(first) || !name.endsWith(last) || name.length < first.length + last.length)
    return false;
  let cursor = first.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, cursor);
    if (found === -1 || found + middle.length > name.length - last.length) return false;
    cursor = found + middle.length;
  }
  return true;
}
