import { describe, expect, it } from "vitest";
import { createContentAccumulator } from "./answer-content.ts";
import { createSseReader } from "./event-stream.ts";
import { newSecret } from "./managed-key.ts";
import {
  createRedactor,
  findSensitive,
  parseOperatorPatterns,
  type RedactionCounts,
  type RedactOptions,
} from "./redact.ts";

const SECRET = "recording-redaction-key-for-tests";
const OFF: RedactOptions = { ips: false, patterns: [] };
const EMPLOYEE = parseOperatorPatterns('{"EMPLOYEE_ID": "EMP-[0-9]{6}"}');
const ALL: RedactOptions = { ips: true, patterns: EMPLOYEE };
const encoder = new TextEncoder();
/** Code under test writes `${…}` placeholders; the test spells them with this. */
const DOLLAR = "$";

/** The token an HMAC computed here gives, independently of the redactor. */
async function tokenOf(kind: string, value: string, secret = SECRET): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${kind}:${value}`)));
  return `<${kind}:${[...mac.subarray(0, 4)].map((byte) => byte.toString(16).padStart(2, "0")).join("")}>`;
}

const found = (text: string, options: RedactOptions = OFF) =>
  findSensitive(text, options).map((match) => `${match.kind}:${match.value}`);

/** A fixed string of `length` characters of `alphabet`, different for each seed. */
function pick(alphabet: string, length: number, seed: number): string {
  let state = Math.imul(seed + 1, 0x9e3779b1) >>> 0;
  let out = "";
  for (let i = 0; i < length; i++) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out += alphabet[state % alphabet.length];
  }
  return out;
}
const HEX = "0123456789abcdef";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64URL = `${ALNUM}-_`;

/** A Luhn-valid number: `body` and its check digit. */
function withCheckDigit(body: string): string {
  for (let check = 0; check < 10; check++) {
    const number = body + check;
    let sum = 0;
    for (let i = 0; i < number.length; i++) {
      let digit = Number(number[number.length - 1 - i]);
      if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
      sum += digit;
    }
    if (sum % 10 === 0) return number;
  }
  throw new Error("unreachable");
}

interface Sample {
  kind: string;
  /** What the text says. */
  text: string;
  /** The part of it that is replaced (all of it unless said). */
  value: string;
}
const sample = (kind: string, text: string, value = text): Sample => ({ kind, text, value });

// Keys are put together here so that no whole key-shaped literal sits in the source for scanners to flag.
const JWT = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.${pick(BASE64URL, 43, 1)}`;
const SAMPLES: Sample[] = [
  sample("EMAIL", "jane.doe@example.com"),
  sample("EMAIL", "ops+alerts@mail.example.co.uk"),
  sample("CARD", "4111 1111 1111 1111"),
  sample("CARD", "5500-0055-5555-5559"),
  sample("CARD", "378282246310005"),
  sample("CARD", "6011111111111117"),
  sample("SSN", "219-09-9999"),
  sample("SSN", "536 22 8726"),
  sample("PHONE", "+1 415 555 2671"),
  sample("PHONE", "+44 20 7946 0958"),
  sample("PHONE", "+49-30-1234567"),
  sample("PHONE", "(415) 555-2671"),
  sample("PHONE", "415-555-2671"),
  sample("PHONE", "415.555.2671"),
  sample("CHUTES_KEY", `cpk_${pick(HEX, 32, 2)}.${pick(HEX, 32, 3)}.${pick(ALNUM, 32, 4)}`),
  sample("CHUTES_KEY", `cpk_${pick(BASE64URL, 28, 5)}`),
  sample("ROUTER_KEY", `sk-ap-${pick(BASE64URL, 43, 6)}`),
  sample("ROUTER_KEY", `sk-ap-${pick(BASE64URL, 22, 7)}`),
  sample("ANTHROPIC_KEY", `sk-ant-api03-${pick(BASE64URL, 93, 8)}AA`),
  sample("ANTHROPIC_KEY", `sk-ant-admin01-${pick(BASE64URL, 40, 9)}`),
  sample("OPENAI_KEY", `sk-proj-${pick(BASE64URL, 120, 10)}`),
  sample("OPENAI_KEY", `sk-${pick(ALNUM, 48, 11)}`),
  sample("OPENAI_KEY", `sk-svcacct-${pick(BASE64URL, 60, 12)}`),
  sample("OPENAI_KEY", `sk-admin-${pick(BASE64URL, 60, 13)}`),
  sample("AWS_KEY", `AKIA${"IOSFODNN7EXAMPLE"}`),
  sample("AWS_KEY", `ASIA${pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 14)}`),
  sample("GITHUB_TOKEN", `ghp_${pick(ALNUM, 36, 15)}`),
  sample("GITHUB_TOKEN", `github_pat_11${pick(`${ALNUM}_`, 80, 16)}`),
  sample("SLACK_TOKEN", ["xoxb", "2048", "4096", pick(ALNUM, 24, 17)].join("-")),
  sample("SLACK_TOKEN", `xoxp-${pick(`${ALNUM}-`, 40, 18)}`),
  sample("BEARER", `Bearer ${JWT}`, JWT),
  sample("BEARER", `bearer ${pick(HEX, 40, 19)}`, pick(HEX, 40, 19)),
  sample("IP", "192.168.1.20"),
  sample("IP", "2001:db8:85a3::8a2e:370:7334"),
  sample("IP", "::ffff:192.0.2.128"),
  sample("EMPLOYEE_ID", "EMP-123456"),
  sample("EMPLOYEE_ID", "EMP-000042"),
];
const KINDS = [...new Set(SAMPLES.map((entry) => entry.kind))];

describe("each kind", () => {
  it.each(KINDS)("%s: every example becomes its token and is counted", async (kind) => {
    const redactor = await createRedactor(SECRET, ALL);
    const examples = SAMPLES.filter((entry) => entry.kind === kind);
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const { text, value } of examples) {
      const counts: RedactionCounts = {};
      const out = await redactor.text(`see ${text} here`, counts);
      const token = await tokenOf(kind, value);
      expect(out).toBe(`see ${text.replace(value, token)} here`);
      expect(out).not.toContain(value);
      expect(out).toMatch(new RegExp(`<${kind}:[0-9a-f]{8}>`));
      expect(counts).toEqual({ [kind]: 1 });
    }
  });

  it("reports the spans in order with their offsets, and counts every replacement", async () => {
    const text = SAMPLES.map((entry) => `(${entry.kind.toLowerCase()}: ${entry.text})`).join("\n");
    const matches = findSensitive(text, ALL);
    expect(matches.map((match) => match.value)).toEqual(SAMPLES.map((entry) => entry.value));
    for (const match of matches) expect(text.slice(match.start, match.end)).toBe(match.value);
    const counts: RedactionCounts = {};
    const out = await (await createRedactor(SECRET, ALL)).text(text, counts);
    for (const entry of SAMPLES) expect(out).not.toContain(entry.value);
    const expected: RedactionCounts = {};
    for (const entry of SAMPLES) expected[entry.kind] = (expected[entry.kind] ?? 0) + 1;
    expect(counts).toEqual(expected);
  });

  it("takes a key this router issued", () => {
    const secret = newSecret();
    expect(found(`x-api-key: ${secret}`)).toEqual([`ROUTER_KEY:${secret}`]);
  });

  it("tells the sk- families apart: sk-ant- and sk-ap- are never OpenAI keys", () => {
    const body = pick(BASE64URL, 40, 20);
    expect(found(`sk-ant-${body}`)).toEqual([`ANTHROPIC_KEY:sk-ant-${body}`]);
    expect(found(`sk-ap-${body}`)).toEqual([`ROUTER_KEY:sk-ap-${body}`]);
    expect(found(`sk-${body}`)).toEqual([`OPENAI_KEY:sk-${body}`]);
    expect(found("sk-ant-short")).toEqual([]);
  });

  it("keeps Bearer and replaces only the credential; a placeholder is not one", async () => {
    const redactor = await createRedactor(SECRET, OFF);
    const out = await redactor.text(`Authorization: Bearer ${JWT}.`, {});
    expect(out).toBe(`Authorization: Bearer ${await tokenOf("BEARER", JWT)}.`);
    expect(found("Authorization: Bearer YOUR_API_KEY_HERE")).toEqual([]);
    expect(found("Bearer tokens are short")).toEqual([]);
    expect(found(`Authorization: Bearer ${DOLLAR}{process.env.TOKEN}`)).toEqual([]);
  });

  it("does not take an e-mail-shaped name that is not an address", () => {
    for (const text of [
      "user@localhost",
      "logo@2x.png",
      "react@18.2.0",
      "npm i @scope/pkg@latest",
      "@Component",
    ]) {
      expect(found(text), text).toEqual([]);
    }
    expect(found("git@github.com:org/repo.git")).toEqual(["EMAIL:git@github.com"]);
  });
});

describe("tokens", () => {
  it("are the same for the same value, across calls and across redactors with the same secret", async () => {
    const one = await createRedactor(SECRET, OFF);
    const two = await createRedactor(SECRET, OFF);
    const text = "write to jane.doe@example.com";
    const first = await one.text(text, {});
    expect(await one.text(text, {})).toBe(first);
    expect(await two.text(text, {})).toBe(first);
    expect(first).toBe(`write to ${await tokenOf("EMAIL", "jane.doe@example.com")}`);
    const twice = await one.text("jane.doe@example.com, jane.doe@example.com", {});
    const [a, b] = twice.split(", ");
    expect(a).toBe(b);
  });

  it("differ under another secret and for another value", async () => {
    const one = await createRedactor(SECRET, OFF);
    const other = await createRedactor(`${SECRET}!`, OFF);
    const text = "jane.doe@example.com";
    expect(await other.text(text, {})).not.toBe(await one.text(text, {}));
    expect(await one.text("john.doe@example.com", {})).not.toBe(await one.text(text, {}));
  });

  it("leave an already redacted text as it is", async () => {
    const redactor = await createRedactor(SECRET, ALL);
    const once = await redactor.text(SAMPLES.map((entry) => entry.text).join(" ; "), {});
    const counts: RedactionCounts = {};
    expect(await redactor.text(once, counts)).toBe(once);
    expect(counts).toEqual({});
  });

  it("need a secret", async () => {
    await expect(createRedactor("", OFF)).rejects.toThrow();
  });

  it("stay right past the token cache's size", async () => {
    const redactor = await createRedactor(SECRET, OFF);
    const values = Array.from({ length: 10_100 }, (_, i) => `user${i}@example.com`);
    const counts: RedactionCounts = {};
    const out = await redactor.json(values, counts);
    expect(counts).toEqual({ EMAIL: 10_100 });
    expect(new Set(out).size).toBe(10_100);
    expect(out[0]).toBe(await tokenOf("EMAIL", "user0@example.com"));
    expect(out[10_099]).toBe(await tokenOf("EMAIL", "user10099@example.com"));
    expect(await redactor.text("user0@example.com", {})).toBe(out[0]);
  });
});

describe("cards", () => {
  it("takes every issuer, spaced, dashed or not", () => {
    const prefixes = [
      "4",
      "51",
      "55",
      "2221",
      "2720",
      "34",
      "37",
      "6011",
      "65",
      "644",
      "649",
      "35",
      "36",
      "38",
      "30",
    ];
    for (const prefix of prefixes) {
      const card = withCheckDigit(prefix + "0".repeat(15 - prefix.length - (prefix.startsWith("3") ? 1 : 0)));
      expect(found(`card ${card}`), card).toEqual([`CARD:${card}`]);
    }
    expect(found("4111 1111 1111 1111")).toEqual(["CARD:4111 1111 1111 1111"]);
    expect(found("4111-1111-1111-1111")).toEqual(["CARD:4111-1111-1111-1111"]);
    expect(found("3782 822463 10005")).toEqual(["CARD:3782 822463 10005"]);
    expect(found("pay with 4111 1111 1111 1111 12/26")).toEqual(["CARD:4111 1111 1111 1111"]);
  });

  it("leaves a number that fails Luhn: any one digit changed", () => {
    const card = "4111111111111111";
    for (let i = 0; i < card.length; i++) {
      const changed = `${card.slice(0, i)}${(Number(card[i]) + 1) % 10}${card.slice(i + 1)}`;
      expect(found(`card ${changed}`), changed).toEqual([]);
      expect(found(`card ${changed.replace(/(\d{4})(?=\d)/g, "$1 ")}`), changed).toEqual([]);
    }
  });

  it("leaves a Luhn-valid number without an issuer's prefix", () => {
    for (const prefix of ["1", "7", "8", "9", "50", "56", "2220", "2721", "33", "39", "6010", "643"]) {
      const number = withCheckDigit(prefix + "0".repeat(15 - prefix.length));
      expect(found(number), number).toEqual([]);
    }
  });

  it("leaves digits inside a longer run of digits or letters, or mixed separators", () => {
    for (const text of [
      "94111111111111111",
      "x4111111111111111",
      "4111111111111111abc",
      "0.4111111111111111",
      "4111111111111111.5",
      "4111 1111-1111 1111",
      "4111.1111.1111.1111",
    ]) {
      expect(found(text), text).toEqual([]);
    }
  });
});

describe("SSNs", () => {
  it("takes valid ones, dashed or spaced", () => {
    expect(found("ssn 219-09-9999")).toEqual(["SSN:219-09-9999"]);
    expect(found("ssn 536 22 8726.")).toEqual(["SSN:536 22 8726"]);
    expect(found("on 2026-12-07 432-12-3456")).toEqual(["SSN:432-12-3456"]);
  });

  it("leaves invalid ranges, famous samples, mixed delimiters and bare digits", () => {
    for (const text of [
      "000-12-3456",
      "666-12-3456",
      "900-12-3456",
      "999-12-3456",
      "219-00-9999",
      "219-09-0000",
      "078-05-1120",
      "123-45-6789",
      "111-11-1111",
      "555 55 5555",
      "123-45 6789",
      "219 09-9999",
      "219099999",
      "1219-09-9999",
      "219-09-99991",
      "219-09-9999-1",
      "1 219 09 9999",
      "x219-09-9999",
    ]) {
      expect(found(`ssn ${text}`), text).toEqual([]);
    }
  });
});

describe("phones", () => {
  it("takes E.164 and North American numbers", () => {
    for (const text of [
      "+1 415 555 2671",
      "+14155552671",
      "+1 (415) 555-2671",
      "+44 20 7946 0958",
      "+49-30-1234567",
      "+33 1 23 45 67 89",
      "(415) 555-2671",
      "415-555-2671",
      "415.555.2671",
    ]) {
      expect(found(`call ${text}.`), text).toEqual([`PHONE:${text}`]);
    }
  });

  it("leaves long digit runs, dates, versions, addresses and short numbers", () => {
    for (const text of [
      "+12345678901234567890",
      "+1234567",
      "4155552671",
      "14155552671234",
      "2026-12-07",
      "1.2.3.4",
      "192.168.100.200",
      "415-555-26710",
      "1415-555-2671",
      "115-555-2671",
      "415-155-2671",
      "415-555.2671",
      "1.0.0+20130313144700",
      "x+14155552671",
    ]) {
      expect(found(text), text).toEqual([]);
    }
  });
});

describe("IP addresses", () => {
  it("are taken only when asked for", () => {
    expect(found("from 10.0.0.1 and ::1")).toEqual([]);
    expect(found("from 10.0.0.1 and ::1", ALL)).toEqual(["IP:10.0.0.1", "IP:::1"]);
  });

  it("cover IPv4 and IPv6, full, compressed and with a dotted quad", () => {
    for (const text of [
      "255.255.255.255",
      "0.0.0.0",
      "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
      "2001:db8::1",
      "fe80::1ff:fe23:4567:890a",
      "2001:db8::",
      "::ffff:192.0.2.128",
    ]) {
      expect(found(`host ${text}.`, ALL), text).toEqual([`IP:${text}`]);
    }
    expect(found("http://[2001:db8::1]:8080/ and 127.0.0.1:8787", ALL)).toEqual([
      "IP:2001:db8::1",
      "IP:127.0.0.1",
    ]);
  });

  it("leave what only looks like one", () => {
    for (const text of [
      "1.2.3.4.5",
      "999.1.1.1",
      "1.2.3.256",
      "01.2.3.4",
      "v1.2.3.4",
      "::",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::1",
      "std::vector<int>",
      "ad::add",
      "12:34:56",
      "00:1a:2b:3c:4d:5e",
    ]) {
      expect(found(text, ALL), text).toEqual([]);
    }
  });
});

describe("operator patterns", () => {
  it("are read from a JSON object of kind to regex, nothing from an empty setting", () => {
    expect(parseOperatorPatterns("")).toEqual([]);
    expect(parseOperatorPatterns("  ")).toEqual([]);
    const patterns = parseOperatorPatterns('{"EMPLOYEE_ID": "EMP-[0-9]{6}", "TICKET_2": "T#\\\\d+"}');
    expect(patterns.map((pattern) => [pattern.kind, pattern.regex.source, pattern.regex.flags])).toEqual([
      ["EMPLOYEE_ID", "EMP-[0-9]{6}", "g"],
      ["TICKET_2", "T#\\d+", "g"],
    ]);
  });

  it("redact their matches under their kind", async () => {
    const options: RedactOptions = { ips: false, patterns: parseOperatorPatterns('{"TICKET": "T#\\\\d+"}') };
    const counts: RedactionCounts = {};
    const out = await (await createRedactor(SECRET, options)).text("see T#42 and T#42, T#7", counts);
    const token = await tokenOf("TICKET", "T#42");
    expect(out).toBe(`see ${token} and ${token}, ${await tokenOf("TICKET", "T#7")}`);
    expect(counts).toEqual({ TICKET: 3 });
  });

  it("work when built by hand without the global flag, and never loop on an empty match", () => {
    expect(found("a EMP-123456 b", { ips: false, patterns: [{ kind: "EMP", regex: /EMP-\d{6}/ }] })).toEqual([
      "EMP:EMP-123456",
    ]);
    expect(found("a EMP-1 b", { ips: false, patterns: [{ kind: "EMP", regex: /(?:EMP-\d)?/g }] })).toEqual([
      "EMP:EMP-1",
    ]);
  });

  it("refuse bad settings with a message naming the kind", () => {
    expect(() => parseOperatorPatterns("{not json")).toThrow(/JSON object/);
    expect(() => parseOperatorPatterns('["EMP-[0-9]+"]')).toThrow(/JSON object/);
    expect(() => parseOperatorPatterns("null")).toThrow(/JSON object/);
    expect(() => parseOperatorPatterns('{"employee_id": "EMP"}')).toThrow(/employee_id/);
    expect(() => parseOperatorPatterns('{"1ABC": "x"}')).toThrow(/1ABC/);
    expect(() => parseOperatorPatterns(`{"${"A".repeat(33)}": "x"}`)).toThrow(/AAAA/);
    expect(() => parseOperatorPatterns('{"EMP": "EMP-[0-9"}')).toThrow(/EMP.*invalid regex/);
    expect(() => parseOperatorPatterns('{"EMP": 42}')).toThrow(/EMP/);
    expect(() => parseOperatorPatterns('{"EMP": ""}')).toThrow(/EMP/);
  });
});

describe("overlaps", () => {
  it("give a key full of digits as one key, never a key with numbers inside", () => {
    const key = "sk-proj-4111111111111111-415-555-2671-219-09-9999";
    expect(found(`key ${key}`, ALL)).toEqual([`OPENAI_KEY:${key}`]);
    const bearer = "0123456789.10.0.0.1.4155552671";
    expect(found(`Bearer ${bearer}`, ALL)).toEqual([`BEARER:${bearer}`]);
  });

  it("keep the match that starts first, then the longer one", () => {
    const options: RedactOptions = {
      ips: false,
      patterns: parseOperatorPatterns('{"ACCOUNT": "ACCT-[0-9-]+", "SHORT": "[0-9]{3}-[0-9]{3}"}'),
    };
    expect(found("ACCT-415-555-2671", options)).toEqual(["ACCOUNT:ACCT-415-555-2671"]);
    expect(found("call 415-555-2671", options)).toEqual(["PHONE:415-555-2671"]);
    expect(found("Bearer sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123")).toEqual([
      "ANTHROPIC_KEY:sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
    ]);
  });
});

describe("what must not match", () => {
  const base64 = btoa(String.fromCharCode(...Array.from({ length: 150 }, (_, i) => (i * 89 + 7) % 256)));
  const corpus: Record<string, string> = {
    "a 200-character base64 blob": base64,
    "base64 with an access-key-like run inside": `${base64.slice(0, 60)}AKIAIOSFODNN7EXAMPLEx${base64.slice(60)}`,
    "base64 with one between its own punctuation": `${base64.slice(0, 60)}+AKIAIOSFODNN7EXAMPLE/${base64.slice(60)}`,
    "base64url with sk- inside": `${pick(BASE64URL, 40, 21)}sk-${pick(BASE64URL, 60, 22)}`,
    "base64url with cpk_ and ghp_ inside": `${pick(ALNUM, 10, 23)}cpk_${pick(ALNUM, 40, 24)}ghp_${pick(ALNUM, 40, 25)}`,
    UUIDs: "123e4567-e89b-12d3-a456-426614174000 12345678-1234-5678-1234-567812345678",
    "a sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "git SHAs": "commit e046a84f1c3c2b9d8a7e6f5d4c3b2a1908172635 (e046a84)",
    "an npm integrity":
      "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR3f5bdjJgfBVWOGA==",
    versions: "v1.2.3 4.10.2 1.0.0-rc.1+build.20260101 node@24.1.0 1.2.3.4",
    "ISO times": "2026-12-07T10:20:30.123Z 2026-12-07 10:20:30+05:30 2026-12-07T10:20:30.123456+01:00",
    dates: "2026-12-07 07/12/2026 12.07.2026 20261207",
    "a local address with a port": "listening on 127.0.0.1:8787",
    "plain numbers": "1234567890123 1733577600000 9007199254740991 4294967295 3.141592653589793",
    "a code snippet": [
      "@Component({ selector: 'app' })",
      `fetch(\`${DOLLAR}{base}/v1/chat\`, { headers: { authorization: \`Bearer ${DOLLAR}{key}\` } });`,
      "for (let i = 0; i < 4111; i++) total += i * 415 - 555 / 2671;",
      "std::vector<int> xs{1, 2, 3}; auto y = ns::ad::add(x);",
      "const task-runner-configuration-name = disk-usage-monitoring-service;",
      "pip install scikit-learn # sk-learn-is-the-old-name-of-it",
      'const key = "YOUR_API_KEY"; const re = /\\d{3}-\\d{2}-\\d{4}/;',
      "color: #4111ff; margin: 0 0 0 0; grid: 1fr 2fr; width: 12.5%;",
    ].join("\n"),
  };

  it.each(Object.entries(corpus))("%s", (_, text) => {
    expect(findSensitive(text, OFF)).toEqual([]);
  });

  it("runs in linear time on adversarial input", () => {
    const inputs = [
      "4".repeat(100_000),
      "1 ".repeat(50_000),
      "12-".repeat(30_000),
      "1.".repeat(50_000),
      "a@".repeat(50_000),
      `${"a".repeat(60)}@`.repeat(2_000),
      "1:".repeat(50_000),
      "abcd:".repeat(20_000),
      `sk-${"a".repeat(100_000)}`,
      "+1 ".repeat(30_000),
      "Bearer ".repeat(15_000),
      "(415) ".repeat(15_000),
    ];
    for (const input of inputs) expect(findSensitive(input, ALL)).toEqual([]);
  });
});

describe("JSON values", () => {
  it("get every string redacted, keys and numbers left, tool-call arguments included", async () => {
    const redactor = await createRedactor(SECRET, OFF);
    const email = "jane.doe@example.com";
    const body = {
      model: "m",
      temperature: 0.7,
      max_tokens: 4111111111111111,
      "jane.doe@example.com": "the key stays",
      messages: [
        { role: "user", content: [{ type: "text", text: `mail ${email}` }] },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "send", arguments: JSON.stringify({ to: email, cc: ["+1 415 555 2671"] }) },
            },
          ],
        },
      ],
      nested: [[["219-09-9999", true, null, 3]]],
    };
    const counts: RedactionCounts = {};
    const out = await redactor.json(body, counts);
    const emailToken = await tokenOf("EMAIL", email);
    expect(out).toEqual({
      ...body,
      messages: [
        { role: "user", content: [{ type: "text", text: `mail ${emailToken}` }] },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: {
                name: "send",
                arguments: JSON.stringify({
                  to: emailToken,
                  cc: [await tokenOf("PHONE", "+1 415 555 2671")],
                }),
              },
            },
          ],
        },
      ],
      nested: [[[await tokenOf("SSN", "219-09-9999"), true, null, 3]]],
    });
    const call = (out.messages[1] as { tool_calls: { function: { arguments: string } }[] }).tool_calls[0];
    expect(JSON.parse(call?.function.arguments ?? "")).toEqual({
      to: emailToken,
      cc: [await tokenOf("PHONE", "+1 415 555 2671")],
    });
    expect(counts).toEqual({ EMAIL: 2, PHONE: 1, SSN: 1 });
    // A copy: the input is untouched.
    expect(body.messages[0]?.content?.[0]?.text).toBe(`mail ${email}`);
  });

  it("copies a value with nothing to redact, and keeps a __proto__ key as data", async () => {
    const redactor = await createRedactor(SECRET, OFF);
    const value = JSON.parse('{"a": [1, "two", {"b": null}], "__proto__": {"c": "d"}}');
    const out = await redactor.json(value, {});
    expect(out).toEqual(value);
    expect(out).not.toBe(value);
    expect(out.a).not.toBe(value.a);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(["a", "__proto__"]);
    expect(await redactor.json("a@example.com", {})).toBe(await tokenOf("EMAIL", "a@example.com"));
  });
});

describe("values split across a stream", () => {
  /** The stream's bytes cut at awkward places: chunk sizes cycle through small primes from `shift`. */
  function chop(bytes: Uint8Array, shift: number): Uint8Array[] {
    const sizes = [1, 7, 2, 13, 3, 31, 5, 4];
    const chunks: Uint8Array[] = [];
    for (let at = 0, k = shift; at < bytes.length; k++) {
      const size = sizes[k % sizes.length] as number;
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    return chunks;
  }

  /** An OpenAI chat-completions stream carrying `pieces` as content deltas or as one tool call's arguments. */
  function stream(pieces: string[], into: "content" | "arguments", crlf: boolean): Uint8Array {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const events: unknown[] = [chunk({ role: "assistant" })];
    if (into === "arguments") {
      events.push(
        chunk({ tool_calls: [{ index: 0, id: "call_1", function: { name: "Bash", arguments: "" } }] }),
      );
    }
    for (const piece of pieces) {
      events.push(
        into === "content"
          ? chunk({ content: piece })
          : chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }),
      );
    }
    events.push(chunk({}, into === "content" ? "stop" : "tool_calls"));
    let text = `${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join("")}data: [DONE]\n\n`;
    if (crlf) text = text.replaceAll("\n", "\r\n");
    return encoder.encode(text);
  }

  function assemble(bytes: Uint8Array, shift: number) {
    const reader = createSseReader();
    const content = createContentAccumulator();
    for (const piece of chop(bytes, shift)) content.onEvents(reader.push(piece));
    const rest = reader.end();
    if (rest) content.onEvents([rest]);
    return content.snapshot();
  }

  /** Cuts of the value: every single offset, then a few three-way ones. */
  function cuts(length: number): number[][] {
    const single = Array.from({ length: length - 1 }, (_, i) => [i + 1]);
    const third = Math.floor(length / 3);
    const triple = [
      [1, 2],
      [third, 2 * third],
      [length - 2, length - 1],
      [1, length - 1],
    ].filter(([a, b]) => (a as number) >= 1 && (a as number) < (b as number) && (b as number) < length);
    return [...single, ...triple];
  }

  /** Pieces of `whole` cut at `offsets` counted from `from`. */
  const split = (whole: string, from: number, offsets: number[]) => {
    const points = [0, ...offsets.map((offset) => from + offset), whole.length];
    return points.slice(1).map((point, i) => whole.slice(points[i], point));
  };

  const occurrences = (text: string, part: string) => text.split(part).length - 1;

  it("redacts each kind's value in text content whatever the cut", async () => {
    const redactor = await createRedactor(SECRET, ALL);
    let cases = 0;
    for (const [n, { kind, text, value }] of SAMPLES.entries()) {
      const token = await tokenOf(kind, value);
      const whole = `prefix ${text} suffix`;
      const expected = whole.replace(value, token);
      for (const offsets of cuts(text.length)) {
        const bytes = stream(split(whole, "prefix ".length, offsets), "content", n % 2 === 1);
        const answer = assemble(bytes, cases);
        expect(answer.text).toBe(whole);
        const counts: RedactionCounts = {};
        const out = await redactor.text(answer.text, counts);
        expect(out, `${kind} cut at ${offsets}`).toBe(expected);
        expect(occurrences(out, token)).toBe(1);
        expect(out).not.toContain(value);
        expect(counts).toEqual({ [kind]: 1 });
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(1000);
  });

  it("redacts each kind's value in a tool call's arguments whatever the cut", async () => {
    const redactor = await createRedactor(SECRET, ALL);
    let cases = 0;
    for (const [n, { kind, text, value }] of SAMPLES.entries()) {
      const token = await tokenOf(kind, value);
      const args = JSON.stringify({ command: `prefix ${text} suffix` });
      const from = args.indexOf(text);
      expect(from).toBeGreaterThan(0);
      for (const offsets of cuts(text.length)) {
        const bytes = stream(split(args, from, offsets), "arguments", n % 2 === 0);
        const answer = assemble(bytes, cases + 3);
        expect(answer.toolCalls.map((call) => [call.name, call.arguments])).toEqual([["Bash", args]]);
        const counts: RedactionCounts = {};
        const out = await redactor.text(answer.toolCalls[0]?.arguments ?? "", counts);
        expect(out, `${kind} cut at ${offsets}`).toBe(args.replace(value, token));
        expect(occurrences(out, token)).toBe(1);
        expect(out).not.toContain(value);
        expect(counts).toEqual({ [kind]: 1 });
        expect(JSON.parse(out)).toEqual({ command: `prefix ${text.replace(value, token)} suffix` });
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(1000);
  });
});
