// Replaces the top-level `model` value in the client's raw JSON text and nothing else: key order, whitespace,
// number spellings (1.0, 1e3, integers beyond 2^53) and every other byte stay as the client sent them.
// Works on text already validated by JSON.parse.

/** The raw body with every top-level `"model"` value replaced by `model`. */
export function replaceModel(rawJson: string, model: string): string {
  const spans = findTopLevelValueSpans(rawJson, "model");
  if (spans.length === 0) return rawJson;
  const replacement = JSON.stringify(model);
  let out = "";
  let cursor = 0;
  for (const [start, end] of spans) {
    out += rawJson.slice(cursor, start) + replacement;
    cursor = end;
  }
  return out + rawJson.slice(cursor);
}

/** [start, end) of each value whose key at depth 1 decodes to `key`. */
function findTopLevelValueSpans(text: string, key: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let i = skipWhitespace(text, 0);
  if (text[i] !== "{") return spans;
  i += 1;
  while (i < text.length) {
    i = skipWhitespace(text, i);
    if (text[i] === "}") break;
    if (text[i] === ",") {
      i += 1;
      continue;
    }
    const keyEnd = skipString(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWhitespace(text, keyEnd);
    i = skipWhitespace(text, i + 1); // past ':'
    const valueEnd = skipValue(text, i);
    if (name === key) spans.push([i, valueEnd]);
    i = valueEnd;
  }
  return spans;
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t"))
    i += 1;
  return i;
}

/** `i` is at an opening quote; returns the index just past the closing quote. */
function skipString(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
  return j + 1;
}

/** Skips one JSON value (string, number, literal, object or array) starting at `i`. */
function skipValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return skipString(text, i);
  if (first === "{" || first === "[") {
    let depth = 0;
    let j = i;
    while (j < text.length) {
      const ch = text[j];
      if (ch === '"') {
        j = skipString(text, j);
        continue;
      }
      if (ch === "{" || ch === "[") depth += 1;
      if (ch === "}" || ch === "]") depth -= 1;
      j += 1;
      if (depth === 0) return j;
    }
    return j;
  }
  let j = i;
  while (j < text.length && !",}] \n\r\t".includes(text[j] ?? "")) j += 1;
  return j;
}
