// Redaction of recorded bodies (docs/contract.md §17): what counts as personal or secret in a request or an
// answer, and the token it is replaced with. Each match becomes `<KIND:xxxxxxxx>`, the first eight hex digits
// of an HMAC-SHA-256 of `KIND:value` under the operator's RECORDING_REDACTION_KEY: the same value always gives
// the same token (a session's repeated history still dedupes, and a reader can tell two values apart), and
// without the key no token can be turned back into its value, not even by guessing every phone number.
//
// Detection is tuned for what agents send: megabytes of code, logs, hashes and base64 with a few real e-mail
// addresses, phone numbers and leaked keys in them. Every kind is anchored on something cheap to find (an `@`,
// a `+`, a key's literal prefix, a run of digits) and checked in code after the match (Luhn, issuer, SSN
// ranges, octets), so a regex never has to be clever and nothing backtracks more than linearly. Overlaps are
// settled once: an API key wins over any number inside it; otherwise the match that starts first, then the
// longer one. Pure apart from `crypto.subtle`, which Workers and Node both have.

export type RedactionCounts = Record<string, number>;

/** An operator's extra kind (RECORDING_REDACT_PATTERNS): every match of `regex` becomes a `kind` token. */
export interface OperatorPattern {
  kind: string;
  regex: RegExp;
}

export interface RedactOptions {
  /** Redact IPv4 and IPv6 addresses too (off by default: versions like 1.2.3.4 look like addresses). */
  ips: boolean;
  patterns: readonly OperatorPattern[];
}

export interface SensitiveMatch {
  start: number;
  end: number;
  kind: string;
  value: string;
}

export interface Redactor {
  /** `text` with each match replaced by its token; adds what it replaced to `counts` (by kind). */
  text(text: string, counts: RedactionCounts): Promise<string>;
  /** A deep copy of a JSON value with every string (object keys excluded) redacted as `text` does. */
  json<T>(value: T, counts: RedactionCounts): Promise<T>;
}

/** What an operator's kind may be called: it is written into every token, so short and upper-case. */
export const OPERATOR_KIND = /^[A-Z][A-Z0-9_]{0,31}$/;

/** Distinct (kind, value) tokens one redactor remembers, so a long session does not sign a value again. */
export const TOKEN_CACHE_ENTRIES = 10_000;

// ---- Characters ----

const isDigit = (code: number) => code >= 48 && code <= 57;
const isLetter = (code: number) => (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
const isWordCode = (code: number) => isDigit(code) || isLetter(code) || code === 95;
const isHexCode = (code: number) =>
  isDigit(code) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
/** Whether the character at `index` is a letter, digit or underscore (false outside the text). */
const isWordAt = (text: string, index: number) =>
  index >= 0 && index < text.length && isWordCode(text.charCodeAt(index));

/** Random-looking: a digit, or both cases. Keeps `sk-learn-is-a-library-name` and `Bearer YOUR_TOKEN` out. */
const looksRandom = (body: string) => /[0-9]/.test(body) || (/[a-z]/.test(body) && /[A-Z]/.test(body));

interface Candidate extends SensitiveMatch {
  /** Breaks a tie of start and length: the lower wins. */
  rank: number;
}

const push = (out: Candidate[], text: string, start: number, end: number, kind: string, rank: number) => {
  out.push({ start, end, kind, value: text.slice(start, end), rank });
};

// ---- API keys and tokens ----

interface KeyKind {
  kind: string;
  /** Substrings one of which must be in the text for the regex to be worth running. */
  needles: readonly string[];
  /** A global regex; its match is the key unless `group` names the capture that is. */
  regex: RegExp;
  group?: number;
  /** The part of the key that must look random (after its fixed prefix), or null to skip that check. */
  body: ((key: string) => string) | null;
  /** Trailing characters that end a sentence rather than the key. */
  trim?: RegExp;
  /** The shortest the key may be once trimmed. */
  min?: number;
}

// Keys start where no key character precedes them, so `task-…` or a base64url blob never yields `sk-…`.
const KEY_KINDS: readonly KeyKind[] = [
  {
    kind: "CHUTES_KEY",
    needles: ["cpk_"],
    regex: /(?<![A-Za-z0-9_-])cpk_[A-Za-z0-9._-]{20,}/g,
    body: (key) => key.slice(4),
    trim: /\.+$/,
    min: 24,
  },
  {
    kind: "ROUTER_KEY",
    needles: ["sk-ap-"],
    regex: /(?<![A-Za-z0-9_-])sk-ap-[A-Za-z0-9_-]{20,}/g,
    body: (key) => key.slice(6),
  },
  {
    kind: "ANTHROPIC_KEY",
    needles: ["sk-ant-"],
    regex: /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}/g,
    body: (key) => key.slice(7),
  },
  {
    // sk-proj-, sk-svcacct-, sk-admin- and the legacy sk-: what the two above did not claim.
    kind: "OPENAI_KEY",
    needles: ["sk-"],
    regex: /(?<![A-Za-z0-9_-])sk-(?!ant-|ap-)[A-Za-z0-9_-]{20,}/g,
    body: (key) => key.slice(3),
  },
  {
    // Base64 runs are not keys: `+`, `/` and `=` count as part of a word here.
    kind: "AWS_KEY",
    needles: ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
    regex: /(?<![A-Za-z0-9+/])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}(?![A-Za-z0-9+/=])/g,
    body: null,
  },
  {
    kind: "GITHUB_TOKEN",
    needles: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
    regex: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/g,
    body: null,
  },
  {
    kind: "SLACK_TOKEN",
    needles: ["xox"],
    regex: /(?<![A-Za-z0-9_-])xox[abposr]-[A-Za-z0-9-]{10,}/g,
    body: (key) => key.slice(5),
  },
  {
    // Only the credential goes; `Bearer ` stays so a reader still sees what it was.
    kind: "BEARER",
    needles: [],
    regex: /(?<![A-Za-z0-9_])bearer[ \t]+([A-Za-z0-9._~+/=-]{16,})/gi,
    group: 1,
    body: (key) => key,
    trim: /\.+$/,
    min: 16,
  },
];

const BEARER_NEEDLE = /bearer[ \t]/i;

function findKeys(text: string, out: Candidate[]): void {
  for (const [rank, spec] of KEY_KINDS.entries()) {
    if (spec.needles.length === 0 ? !BEARER_NEEDLE.test(text) : !spec.needles.some((n) => text.includes(n))) {
      continue;
    }
    const regex = spec.regex;
    regex.lastIndex = 0;
    for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
      const whole = match[0];
      let key = spec.group === undefined ? whole : (match[spec.group] ?? "");
      const start = match.index + whole.length - key.length;
      if (spec.trim) key = key.replace(spec.trim, "");
      if (key.length < (spec.min ?? 0)) continue;
      if (spec.body !== null && !looksRandom(spec.body(key))) continue;
      push(out, text, start, start + key.length, spec.kind, rank);
    }
  }
}

// ---- E-mail addresses ----

const isLocalCode = (code: number) =>
  isDigit(code) || isLetter(code) || code === 46 || code === 95 || code === 37 || code === 43 || code === 45;
const isDomainCode = (code: number) => isDigit(code) || isLetter(code) || code === 46 || code === 45;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const TLD = /^[A-Za-z]{2,63}$/;
/** Endings that are file types rather than top-level domains: `logo@2x.png`, `pkg@latest.tgz`. */
const FILE_ENDINGS = new Set([
  "png",
  "jpg",
  "jpeg",
  "gif",
  "svg",
  "webp",
  "ico",
  "bmp",
  "js",
  "mjs",
  "cjs",
  "ts",
  "tsx",
  "jsx",
  "css",
  "scss",
  "json",
  "yaml",
  "yml",
  "toml",
  "lock",
  "txt",
  "log",
  "map",
  "tgz",
  "wasm",
  "html",
]);

/** Found from each `@`, outwards: never a regex that could retry a long run of word characters. */
function findEmails(text: string, out: Candidate[]): void {
  let at = text.indexOf("@");
  while (at !== -1) {
    let start = at;
    while (start > 0 && at - start < 64 && isLocalCode(text.charCodeAt(start - 1))) start--;
    let end = at + 1;
    while (end < text.length && end - at <= 254 && isDomainCode(text.charCodeAt(end))) end++;
    const longLocal = start > 0 && isLocalCode(text.charCodeAt(start - 1));
    while (start < at && text[start] === ".") start++;
    while (end > at + 1 && (text[end - 1] === "." || text[end - 1] === "-")) end--;
    if (!longLocal && start < at && text[at - 1] !== "." && isDomain(text.slice(at + 1, end))) {
      push(out, text, start, end, "EMAIL", 0);
      at = text.indexOf("@", end);
    } else {
      at = text.indexOf("@", at + 1);
    }
  }
}

function isDomain(domain: string): boolean {
  const labels = domain.split(".");
  const tld = labels[labels.length - 1] as string;
  if (labels.length < 2 || !TLD.test(tld) || FILE_ENDINGS.has(tld.toLowerCase())) return false;
  // `logo@2x.png` is handled by the ending; `icon@3x.webp`-like names by the first label.
  if (/^\d+x$/i.test(labels[0] as string)) return false;
  return labels.every((label) => LABEL.test(label));
}

// ---- Runs of digits: cards, SSNs, North American phones, IPv4 ----

/** Digits in groups joined by single spaces, dots or dashes (two joins at least), or one long group. */
const DIGIT_RUN = /(?<!\d)\d+(?:[ .-]\d+){2,}|(?<!\d)\d{13,}/g;

interface Run {
  /** Offsets of each group's first digit and one past its last. */
  starts: number[];
  ends: number[];
  /** `joins[i]` joins group i - 1 to group i (joins[0] is unused). */
  joins: string[];
  /** The run is glued to a word on the left or right (`abc123`, `x-123`, `123.a`). */
  gluedLeft: boolean;
  gluedRight: boolean;
}

function readRun(text: string, from: number, to: number): Run {
  const starts: number[] = [from];
  const ends: number[] = [];
  const joins: string[] = [""];
  for (let i = from; i < to; i++) {
    if (!isDigit(text.charCodeAt(i))) {
      ends.push(i);
      joins.push(text[i] as string);
      starts.push(i + 1);
    }
  }
  ends.push(to);
  const before = text[from - 1];
  const after = text[to];
  return {
    starts,
    ends,
    joins,
    gluedLeft: isWordAt(text, from - 1) || ((before === "." || before === "-") && isWordAt(text, from - 2)),
    gluedRight: isWordAt(text, to) || ((after === "." || after === "-") && isWordAt(text, to + 1)),
  };
}

/**
 * Whether groups first..last stand alone: joined to nothing on either side, or only by a space to a run
 * joined by something else (`2026-12-07 123-45-6789`). A dash or dot onward means a longer number.
 */
function standsAlone(run: Run, first: number, last: number, join: string): boolean {
  const left = first === 0 ? !run.gluedLeft : run.joins[first] === " " && join !== " ";
  const right =
    last === run.starts.length - 1 ? !run.gluedRight : run.joins[last + 1] === " " && join !== " ";
  return left && right;
}

/** Whether groups first..last are all joined by `join`. */
function joinedBy(run: Run, first: number, last: number, join: string): boolean {
  for (let i = first + 1; i <= last; i++) if (run.joins[i] !== join) return false;
  return true;
}

const digitsOf = (text: string, run: Run, first: number, last: number) => {
  let digits = "";
  for (let i = first; i <= last; i++) digits += text.slice(run.starts[i], run.ends[i]);
  return digits;
};

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Visa, Mastercard, Amex, Discover, JCB, Diners. */
function hasIssuer(digits: string): boolean {
  const two = Number(digits.slice(0, 2));
  const three = Number(digits.slice(0, 3));
  const four = Number(digits.slice(0, 4));
  if (digits[0] === "4") return true;
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return true;
  if (two === 34 || two === 37) return true;
  if (four === 6011 || two === 65 || (three >= 644 && three <= 649)) return true;
  return two === 35 || two === 36 || two === 38 || two === 30;
}

function findCards(text: string, run: Run, out: Candidate[]): void {
  const groups = run.starts.length;
  let first = 0;
  while (first < groups) {
    let found = -1;
    // A card may sit next to other numbers (`4111 1111 1111 1111 12/26`), but not after or before a dot.
    const leftOk = first === 0 ? !run.gluedLeft : run.joins[first] !== ".";
    for (let last = Math.min(groups - 1, first + 6); leftOk && last >= first; last--) {
      const rightOk = last === groups - 1 ? !run.gluedRight : run.joins[last + 1] !== ".";
      if (!rightOk) continue;
      const join = run.joins[first + 1] as string;
      if (last > first && (join === "." || !joinedBy(run, first, last, join))) continue;
      if (last > first) {
        let sized = true;
        for (let i = first; i <= last; i++) {
          const size = (run.ends[i] as number) - (run.starts[i] as number);
          if (size < 3 || size > 6) sized = false;
        }
        if (!sized) continue;
      }
      const digits = digitsOf(text, run, first, last);
      if (digits.length < 13 || digits.length > 19 || !hasIssuer(digits) || !luhn(digits)) continue;
      found = last;
      break;
    }
    if (found === -1) {
      first++;
      continue;
    }
    push(out, text, run.starts[first] as number, run.ends[found] as number, "CARD", 1);
    first = found + 1;
  }
}

const sizesAre = (run: Run, first: number, sizes: readonly number[]) =>
  sizes.every((size, i) => (run.ends[first + i] as number) - (run.starts[first + i] as number) === size);

const SSN_SIZES = [3, 2, 4] as const;
const NANP_SIZES = [3, 3, 4] as const;

function findSsns(text: string, run: Run, out: Candidate[]): void {
  for (let first = 0; first + 2 < run.starts.length; first++) {
    const join = run.joins[first + 1] as string;
    if (join === "." || !joinedBy(run, first, first + 2, join) || !sizesAre(run, first, SSN_SIZES)) continue;
    if (!standsAlone(run, first, first + 2, join)) continue;
    const digits = digitsOf(text, run, first, first + 2);
    if (validSsn(digits))
      push(out, text, run.starts[first] as number, run.ends[first + 2] as number, "SSN", 2);
  }
}

/** Area not 000, 666 or 9xx; group not 00; serial not 0000; not a famous sample, not one digit repeated. */
function validSsn(digits: string): boolean {
  const area = digits.slice(0, 3);
  if (area === "000" || area === "666" || area[0] === "9") return false;
  if (digits.slice(3, 5) === "00" || digits.slice(5) === "0000") return false;
  if (digits === "078051120" || digits === "123456789") return false;
  return !/^(\d)\1{8}$/.test(digits);
}

function findNanpPhones(text: string, run: Run, out: Candidate[]): void {
  for (let first = 0; first + 2 < run.starts.length; first++) {
    const join = run.joins[first + 1] as string;
    if (join === " " || !joinedBy(run, first, first + 2, join) || !sizesAre(run, first, NANP_SIZES)) continue;
    if (!standsAlone(run, first, first + 2, join)) continue;
    const area = text.charCodeAt(run.starts[first] as number);
    const exchange = text.charCodeAt(run.starts[first + 1] as number);
    if (area < 50 || exchange < 50) continue;
    push(out, text, run.starts[first] as number, run.ends[first + 2] as number, "PHONE", 3);
  }
}

/** Dotted quad, each octet 0–255 without a leading zero. */
function isIPv4(candidate: string): boolean {
  const octets = candidate.split(".");
  return (
    octets.length === 4 && octets.every((octet) => /^(?:0|[1-9]\d{0,2})$/.test(octet) && Number(octet) <= 255)
  );
}

function findIPv4s(text: string, run: Run, out: Candidate[]): void {
  for (let first = 0; first + 3 < run.starts.length; first++) {
    if (!joinedBy(run, first, first + 3, ".")) continue;
    // Part of a longer dotted run (`1.2.3.4.5`) or glued to a word (`v1.2.3.4`): not an address.
    if (!standsAlone(run, first, first + 3, ".")) continue;
    const start = run.starts[first] as number;
    const end = run.ends[first + 3] as number;
    if (isIPv4(text.slice(start, end))) push(out, text, start, end, "IP", 4);
  }
}

function findDigitRuns(text: string, ips: boolean, out: Candidate[]): void {
  DIGIT_RUN.lastIndex = 0;
  for (let match = DIGIT_RUN.exec(text); match !== null; match = DIGIT_RUN.exec(text)) {
    const run = readRun(text, match.index, match.index + match[0].length);
    findCards(text, run, out);
    if (run.starts.length >= 3) {
      findSsns(text, run, out);
      findNanpPhones(text, run, out);
      if (ips) findIPv4s(text, run, out);
    }
  }
}

// ---- Phones written with + or parentheses ----

/** `+` and the country code, then digits with single separators; checked and trimmed in code. */
const E164 = /(?<![A-Za-z0-9_+/])\+\(?[1-9][\d .()-]*\d/g;
const E164_JOINS = new Set([" ", "-", ".", "(", ")", ") ", ")-", ").", " (", "-(", ".("]);
/** `(415) 555-2671`: an area code in parentheses, exchange and line. */
const PAREN_NANP = /(?<![A-Za-z0-9_)])\([2-9]\d\d\) ?[2-9]\d\d[-. ]?\d{4}(?![A-Za-z0-9_]|[.-]\d)/g;

function findPlusPhones(text: string, out: Candidate[]): void {
  E164.lastIndex = 0;
  for (let match = E164.exec(text); match !== null; match = E164.exec(text)) {
    const start = match.index;
    const candidate = match[0];
    if (isWordAt(text, start + candidate.length)) continue;
    // Groups of digits and what joins them: `+1 (415) 555-2671` is 1, 415, 555, 2671.
    const groups = [...candidate.matchAll(/\d+/g)];
    let digits = 0;
    let count = 0;
    for (const group of groups) {
      if (digits + group[0].length > 15 || count === 6) break;
      digits += group[0].length;
      count++;
    }
    if (digits < 8) continue;
    const last = groups[count - 1] as RegExpExecArray;
    const kept = candidate.slice(0, last.index + last[0].length);
    const joins = kept.slice(1).split(/\d+/);
    const lead = joins.shift();
    joins.pop();
    const opens = kept.split("(").length - 1;
    const closes = kept.split(")").length - 1;
    if (opens !== closes || opens > 1 || (opens === 1 && kept.indexOf("(") > kept.indexOf(")"))) continue;
    if ((lead !== "" && lead !== "(") || !joins.every((join) => E164_JOINS.has(join))) continue;
    push(out, text, start, start + kept.length, "PHONE", 3);
  }
}

function findParenPhones(text: string, out: Candidate[]): void {
  PAREN_NANP.lastIndex = 0;
  for (let match = PAREN_NANP.exec(text); match !== null; match = PAREN_NANP.exec(text)) {
    push(out, text, match.index, match.index + match[0].length, "PHONE", 3);
  }
}

// ---- IPv6 ----

const isV6Code = (code: number) => isHexCode(code) || code === 58 || code === 46;

/** Full, `::`-compressed, or ending in a dotted quad (`::ffff:192.0.2.1`); a bare `::` is not one. */
function isIPv6(candidate: string): boolean {
  let address = candidate;
  if (address.includes(".")) {
    const colon = address.lastIndexOf(":");
    if (colon === -1 || !isIPv4(address.slice(colon + 1))) return false;
    address = `${address.slice(0, colon + 1)}0:0`;
  }
  const double = address.indexOf("::");
  if (double !== address.lastIndexOf("::")) return false;
  const parts = double === -1 ? [address] : [address.slice(0, double), address.slice(double + 2)];
  let groups = 0;
  for (const part of parts) {
    if (part === "") continue;
    for (const group of part.split(":")) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return false;
      groups++;
    }
  }
  return double === -1 ? groups === 8 : groups >= 1 && groups <= 7;
}

/** From each `:`, outwards over hex digits, colons and dots; `ad::add` (no digit) is code, not an address. */
function findIPv6s(text: string, out: Candidate[]): void {
  let colon = text.indexOf(":");
  while (colon !== -1) {
    let start = colon;
    while (start > 0 && colon - start < 45 && isV6Code(text.charCodeAt(start - 1))) start--;
    let end = colon + 1;
    while (end < text.length && end - colon < 46 && isV6Code(text.charCodeAt(end))) end++;
    const next = text.indexOf(":", end);
    const clipped =
      (start > 0 && isV6Code(text.charCodeAt(start - 1))) ||
      (end < text.length && isV6Code(text.charCodeAt(end)));
    while (start < colon && text[start] === ".") start++;
    while (end > colon + 1 && text[end - 1] === ".") end--;
    const candidate = text.slice(start, end);
    if (!clipped && !isWordAt(text, start - 1) && !isWordAt(text, end) && /\d/.test(candidate)) {
      if (isIPv6(candidate)) push(out, text, start, end, "IP", 4);
    }
    colon = next;
  }
}

// ---- Operator patterns ----

const globalized = new WeakMap<RegExp, RegExp>();

/** The pattern's regex as a global, non-sticky one (a pattern built by hand may lack the flag). */
function globalRegex(regex: RegExp): RegExp {
  if (regex.global && !regex.sticky) return regex;
  let made = globalized.get(regex);
  if (!made) {
    made = new RegExp(regex.source, `${regex.flags.replace(/[gy]/g, "")}g`);
    globalized.set(regex, made);
  }
  return made;
}

function findOperatorMatches(text: string, patterns: readonly OperatorPattern[], out: Candidate[]): void {
  for (const pattern of patterns) {
    const regex = globalRegex(pattern.regex);
    regex.lastIndex = 0;
    for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
      if (match[0] === "") {
        regex.lastIndex++;
        continue;
      }
      push(out, text, match.index, match.index + match[0].length, pattern.kind, 0);
    }
  }
}

/**
 * The operator's patterns from RECORDING_REDACT_PATTERNS: a JSON object of kind to regex source, e.g.
 * `{"EMPLOYEE_ID": "EMP-[0-9]{6}"}`; empty means none. Throws, naming the kind, on anything it cannot use.
 */
export function parseOperatorPatterns(spec: string): OperatorPattern[] {
  if (spec.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(spec);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`must be a JSON object of KIND: regex (${reason})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("must be a JSON object of KIND: regex");
  }
  const patterns: OperatorPattern[] = [];
  for (const [kind, source] of Object.entries(parsed)) {
    if (!OPERATOR_KIND.test(kind)) {
      throw new Error(
        `kind ${JSON.stringify(kind)} must be upper case: A-Z, then up to 31 of A-Z, 0-9 and _`,
      );
    }
    if (typeof source !== "string" || source === "") {
      throw new Error(`kind ${kind}: the regex must be a non-empty string`);
    }
    let regex: RegExp;
    try {
      regex = new RegExp(source, "g");
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`kind ${kind}: invalid regex (${reason})`);
    }
    patterns.push({ kind, regex });
  }
  return patterns;
}

// ---- Finding ----

const byPosition = (a: Candidate, b: Candidate) =>
  a.start - b.start || b.end - b.start - (a.end - a.start) || a.rank - b.rank;

/** The candidates that survive, first come first kept; none overlapping each other or anything in `taken`. */
function settle(candidates: Candidate[], taken: readonly Candidate[]): Candidate[] {
  candidates.sort(byPosition);
  const kept: Candidate[] = [];
  let end = 0;
  let t = 0;
  for (const candidate of candidates) {
    if (candidate.start < end) continue;
    while (t < taken.length && (taken[t] as Candidate).end <= candidate.start) t++;
    if (t < taken.length && (taken[t] as Candidate).start < candidate.end) continue;
    kept.push(candidate);
    end = candidate.end;
  }
  return kept;
}

/** Every sensitive span in `text`, sorted by start, non-overlapping. Synchronous, pure. */
export function findSensitive(text: string, options: RedactOptions): SensitiveMatch[] {
  const keys: Candidate[] = [];
  findKeys(text, keys);
  const others: Candidate[] = [];
  findOperatorMatches(text, options.patterns, others);
  findEmails(text, others);
  findDigitRuns(text, options.ips, others);
  if (text.includes("+")) findPlusPhones(text, others);
  if (text.includes("(")) findParenPhones(text, others);
  if (options.ips) findIPv6s(text, others);
  if (keys.length === 0 && others.length === 0) return [];
  // Keys first: a key full of digits is one key, never a key with a phone number inside.
  const keptKeys = settle(keys, []);
  const kept = [...keptKeys, ...settle(others, keptKeys)];
  kept.sort((a, b) => a.start - b.start);
  return kept.map(({ start, end, kind, value }) => ({ start, end, kind, value }));
}

// ---- Redacting ----

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

/** A redactor whose tokens are HMACs under `secret` (must be non-empty; throws otherwise). */
export async function createRedactor(secret: string, options: RedactOptions): Promise<Redactor> {
  if (typeof secret !== "string" || secret === "") throw new Error("the redaction key must not be empty");
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  /** `KIND:value` to its token's hex; the oldest goes first when full. */
  const cache = new Map<string, string>();

  /** The token hex of every match, signing only what the cache does not know. */
  const tokensFor = async (matches: readonly SensitiveMatch[]) => {
    const tokens = new Map<string, string>();
    const missing: string[] = [];
    for (const match of matches) {
      const message = `${match.kind}:${match.value}`;
      if (tokens.has(message)) continue;
      const known = cache.get(message);
      if (known === undefined) missing.push(message);
      tokens.set(message, known ?? "");
    }
    const signed = await Promise.all(
      missing.map(
        async (message) => new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message))),
      ),
    );
    for (const [i, message] of missing.entries()) {
      const mac = signed[i] as Uint8Array;
      const hex = `${HEX[mac[0] as number]}${HEX[mac[1] as number]}${HEX[mac[2] as number]}${HEX[mac[3] as number]}`;
      tokens.set(message, hex);
      if (cache.size >= TOKEN_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(message, hex);
    }
    return tokens;
  };

  const replace = (
    text: string,
    matches: readonly SensitiveMatch[],
    tokens: ReadonlyMap<string, string>,
    counts: RedactionCounts,
  ) => {
    let out = "";
    let from = 0;
    for (const match of matches) {
      const hex = tokens.get(`${match.kind}:${match.value}`) as string;
      out += `${text.slice(from, match.start)}<${match.kind}:${hex}>`;
      from = match.end;
      counts[match.kind] = (counts[match.kind] ?? 0) + 1;
    }
    return out + text.slice(from);
  };

  return {
    async text(text, counts) {
      const matches = findSensitive(text, options);
      if (matches.length === 0) return text;
      return replace(text, matches, await tokensFor(matches), counts);
    },
    async json(value, counts) {
      // Find everything first, sign it all at once, then copy.
      const found = new Map<string, SensitiveMatch[]>();
      const all: SensitiveMatch[] = [];
      const scan = (node: unknown): void => {
        if (typeof node === "string") {
          if (found.has(node)) return;
          const matches = findSensitive(node, options);
          found.set(node, matches);
          for (const match of matches) all.push(match);
        } else if (Array.isArray(node)) {
          for (const item of node) scan(item);
        } else if (typeof node === "object" && node !== null) {
          for (const item of Object.values(node)) scan(item);
        }
      };
      scan(value);
      const tokens = all.length === 0 ? new Map<string, string>() : await tokensFor(all);
      return copyJson(value, (text) => {
        const matches = found.get(text);
        return matches === undefined || matches.length === 0 ? text : replace(text, matches, tokens, counts);
      });
    },
  };
}

/** A deep copy of a JSON value with each string mapped (own keys kept as data, `__proto__` included). */
function copyJson<T>(value: T, mapString: (text: string) => string): T {
  const copy = (node: unknown): unknown => {
    if (typeof node === "string") return mapString(node);
    if (Array.isArray(node)) return node.map(copy);
    if (typeof node === "object" && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([name, item]) => [name, copy(item)]));
    }
    return node;
  };
  return copy(value) as T;
}
