// Replaces the top-level `model` value in the client's raw JSON text, and lowers its requested output when it
// must fit a model (docs/contract.md §16), and nothing else: key order, whitespace, number spellings (1.0,
// 1e3, integers beyond 2^53) and every other byte stay as the client sent them. Works on text already
// validated by JSON.parse.

import { jsonParts } from "./json-parts.ts";

/** The fields a client may ask for output with; each present one above the limit is lowered to it. */
const OUTPUT_FIELDS = new Set(["max_completion_tokens", "max_tokens"]);

/**
 * An upstream body as strings whose concatenation is its JSON, which the runtime writes into one Blob: slices
 * of the client's text, or a serialized structure with its large strings apart (core/json-parts.ts), so a
 * large body is never copied whole to build it.
 */
export type BodyParts = string[];

/** Writes the upstream body for one candidate, its output lowered to `maxTokens` when that is not null. */
export type BodyWriter = (model: string, maxTokens: number | null) => BodyParts;

/** The raw body with every top-level `"model"` value replaced by `model`. */
export function replaceModel(rawJson: string, model: string): string {
  return bodyRewriter(rawJson)(model, null).join("");
}

/**
 * A rewriter of one raw body, which finds the fields once: each call gives the body with every top-level
 * `"model"` set to `model` and, when `maxTokens` is not null, every top-level `max_completion_tokens` /
 * `max_tokens` above it lowered to it, as slices of the raw text around the new values.
 */
export function bodyRewriter(rawJson: string): BodyWriter {
  const spans = findTopLevelValueSpans(rawJson);
  return (model, maxTokens) => rewriteSpans(rawJson, spans, model, maxTokens);
}

function rewriteSpans(
  rawJson: string,
  spans: ReadonlyArray<[string, number, number]>,
  model: string,
  maxTokens: number | null,
): BodyParts {
  const modelText = JSON.stringify(model);
  const parts: BodyParts = [];
  let cursor = 0;
  for (const [name, start, end] of spans) {
    let replacement: string | null = null;
    if (name === "model") replacement = modelText;
    else if (maxTokens !== null && OUTPUT_FIELDS.has(name) && Number(rawJson.slice(start, end)) > maxTokens)
      replacement = String(maxTokens);
    if (replacement === null) continue;
    parts.push(rawJson.slice(cursor, start), replacement);
    cursor = end;
  }
  if (cursor === 0) return [rawJson];
  parts.push(rawJson.slice(cursor));
  return parts;
}

/** [key, start, end) of each top-level value whose key is `model` or an output field. */
function findTopLevelValueSpans(text: string): Array<[string, number, number]> {
  const spans: Array<[string, number, number]> = [];
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
    if (name === "model" || OUTPUT_FIELDS.has(name)) spans.push([name, i, valueEnd]);
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

/**
 * Upstream bodies from a chat body the router built (a translated request): serialized once, with its large
 * strings apart, then each candidate's `model` and output limit are put in front.
 */
export function chatBodyWriter(chat: Readonly<Record<string, unknown>>): BodyWriter {
  const { model: _model, max_tokens: requested, ...rest } = chat;
  const [opening = "{}", ...more] = jsonParts(rest);
  // The serialized rest without its opening brace, to follow the head's fields.
  const tail = [opening.slice(1), ...more];
  const separator = opening === "{}" && more.length === 0 ? "" : ",";
  return (model, maxTokens) => {
    const limit = maxTokens ?? requested;
    const head = `{"model":${JSON.stringify(model)}${limit === undefined ? "" : `,"max_tokens":${JSON.stringify(limit)}`}`;
    return [head + separator, ...tail];
  };
}
