// Writing a large upstream body without copying its large strings (docs/contract.md §16: a request may be 32
// MiB, and an isolate has 128 MB). A body the router builds (a translated request) is serialized as a list of
// strings whose concatenation is its JSON: the small structure as one JSON.stringify, each large string as a
// part of its own, written as it is when it needs no escaping; the runtime turns the parts into one Blob. A
// `data:` URL stays in its two pieces, so a base64 image is never copied to put its prefix in front of it.

/** A `data:` URL as its head (`data:image/png;base64,`) and its payload; serializes as the whole URL. */
export class DataUrl {
  readonly head: string;
  readonly payload: string;

  constructor(head: string, payload: string) {
    this.head = head;
    this.payload = payload;
  }

  /** The whole URL (a copy of the payload: only for small ones, and for whoever serializes it plainly). */
  toJSON(): string {
    return this.head + this.payload;
  }
}

/** Strings at least this long are written as parts of their own. */
export const LARGE_STRING_CHARS = 64 * 1024;

// Stands in for a large string while the rest is serialized; private-use characters JSON.stringify keeps as is.
const MARK = "\uE000";
const placeholder = (index: number) => `"${MARK}${index}${MARK}"`;
// What JSON.stringify would escape: quotes, backslashes, control characters, lone surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes exactly these control characters.
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(value)` as a list of strings whose concatenation is exactly it. */
export function jsonParts(value: unknown): string[] {
  const large: Array<string | DataUrl> = [];
  const json = JSON.stringify(value, function (this: unknown, key: string, item: unknown) {
    // A DataUrl reaches the replacer before its toJSON runs only as the holder's own property.
    const own = key === "" ? item : (this as Record<string, unknown>)[key];
    if (own instanceof DataUrl || (typeof own === "string" && own.length >= LARGE_STRING_CHARS)) {
      large.push(own);
      return `${MARK}${large.length - 1}${MARK}`;
    }
    return item;
  });
  if (json === undefined) return [];
  if (large.length === 0) return [json];
  const parts: string[] = [];
  let cursor = 0;
  for (const [index, item] of large.entries()) {
    const at = json.indexOf(placeholder(index), cursor);
    // Content that happens to hold a mark: serialize plainly rather than guess.
    if (at === -1 || json.indexOf(placeholder(index), at + 1) !== -1) return [JSON.stringify(value)];
    parts.push(json.slice(cursor, at), ...quoted(item));
    cursor = at + placeholder(index).length;
  }
  parts.push(json.slice(cursor));
  return parts.filter((part) => part !== "");
}

function quoted(item: string | DataUrl): string[] {
  if (item instanceof DataUrl) return ['"', ...unquoted(item.head), ...unquoted(item.payload), '"'];
  return ['"', ...unquoted(item), '"'];
}

/** A string's JSON text without its quotes: the string itself when nothing in it needs escaping. */
function unquoted(text: string): string[] {
  return NEEDS_ESCAPING.test(text) ? [JSON.stringify(text).slice(1, -1)] : [text];
}
