// npm run records -- <list|show|session|export|delete>: a small CLI over the router's records admin API
// (docs/contract.md §17). It reads ROUTER_URL (default http://127.0.0.1:8787) and ADMIN_API_KEY from the
// environment, never from the command line, so the admin key stays out of shell history.
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { adminClient, commandLine, exitWith, type OptionValues, printColumns } from "./cli.ts";

const USAGE = `usage: npm run records -- <command> [options]

  list [filters] [--limit N] [--cursor C] [--json]
                        the records, newest first, as a table (times in UTC)
  show ID [--json]      one record, with its request and answer when its bodies were kept
  session ID [--key-id ID] [--json]
                        a session's conversation, turn by turn
  export [filters] [--bodies] [--out FILE]
                        the records as NDJSON, one per line, to stdout or FILE
  delete (--key-id ID | --session S)
                        erase every record of a key or of a session, with their bodies

Filters: --key-id ID  --session S  --model M  --status N  --from ISO-8601  --to ISO-8601
(--key-id - : the requests made without a managed key)

Environment: ROUTER_URL (default http://127.0.0.1:8787), ADMIN_API_KEY (required).`;

const OPTIONS = {
  "key-id": { type: "string" },
  session: { type: "string" },
  model: { type: "string" },
  status: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  bodies: { type: "boolean" },
  out: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = OptionValues<typeof OPTIONS>;
const { read, fail } = commandLine("records", USAGE, OPTIONS);

/** The filter options, as their query parameters. */
const FILTERS = [
  ["key-id", "key_id"],
  ["session", "session"],
  ["model", "model"],
  ["status", "status"],
  ["from", "from"],
  ["to", "to"],
] as const;

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  estimated: boolean;
}

interface RecordView {
  id: string;
  time: string;
  key_id: string | null;
  session: string | null;
  requested_model: string | null;
  selected_model: string | null;
  status: number;
  ttfb_ms: number | null;
  duration_ms: number;
  usage: Usage | null;
  cost_usd: number | null;
  error_code: string | null;
  level: "metadata" | "redacted" | "full";
  bodies: "kept" | "none" | "redaction_failed";
}

interface Answer {
  text?: string;
  tool_calls?: Array<{ name?: string; arguments?: string }>;
  truncated?: boolean;
}

interface Session {
  id: string;
  turns: Array<{
    record_id: string;
    time: string;
    model: string | null;
    status: number;
    usage: Usage | null;
    cost_usd: number | null;
    new_messages: unknown[] | null;
    answer: Answer | null;
  }>;
  totals: { requests: number; prompt_tokens: number; completion_tokens: number; cost_usd: number };
}

async function main(argv: string[]): Promise<number> {
  const line = read(argv);
  if (typeof line === "number") return line;
  const { command, id, values } = line;
  if (!["list", "show", "session", "export", "delete"].includes(command))
    return fail(`unknown command ${command}`);
  const admin = adminClient();
  if (!admin) return fail("ADMIN_API_KEY is not set");
  const { call, request } = admin;
  const needId = (what: string) => {
    if (!id) throw new Error(`${command} needs a ${what} id (see: npm run records -- list)`);
    return encodeURIComponent(id);
  };
  const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

  switch (command) {
    case "list": {
      const query = queryOf(values, { limit: values.limit, cursor: values.cursor });
      const page = (await call("GET", `/admin/records${query}`)) as {
        data: RecordView[];
        next_cursor: string | null;
      };
      if (values.json) print(page);
      else printTable(page.data);
      if (page.next_cursor) console.error(`more: ${moreCommand(values, page.next_cursor)}`);
      return 0;
    }
    case "show":
      print(await call("GET", `/admin/records/${needId("record")}`));
      return 0;
    case "session": {
      const query = queryOf({}, { key_id: values["key-id"] });
      const session = await call("GET", `/admin/sessions/${needId("session")}${query}`);
      if (values.json) print(session);
      else printSession(session as Session);
      return 0;
    }
    case "export": {
      const query = queryOf(values, { bodies: values.bodies ? "true" : undefined });
      const response = await request("GET", `/admin/records/export${query}`);
      if (!response.body) throw new Error("the router sent no body");
      // The file is opened once the router said yes (a refusal leaves it as it was), and before the copy
      // starts (a path that cannot be written is not reported as a broken export).
      const out = values.out;
      let target: Writable = process.stdout;
      if (out !== undefined) {
        target = createWriteStream(out);
        await once(target, "open");
      }
      let lines = 0;
      let last = 0x0a;
      const body = response.body;
      const counted = async function* () {
        for await (const chunk of body) {
          for (const byte of chunk) if (byte === 0x0a) lines += 1;
          if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
          yield chunk;
        }
      };
      try {
        await pipeline(counted, target);
      } catch (error) {
        // The reader went away (`| head`): it has what it wanted.
        if ((error as { code?: string }).code === "EPIPE") return 0;
        const { message, cause } = error as { message?: string; cause?: { message?: string } };
        const kept = out === undefined ? "" : ` (${out} holds those)`;
        throw new Error(
          `the export stopped after ${lines} line${lines === 1 ? "" : "s"}${kept}: ${cause?.message ?? message}`,
        );
      }
      if (out !== undefined) {
        const records = lines + (last === 0x0a ? 0 : 1);
        console.error(`wrote ${records} record${records === 1 ? "" : "s"} to ${out}`);
      }
      return 0;
    }
    case "delete": {
      const keyId = values["key-id"];
      const session = values.session;
      if ((keyId === undefined) === (session === undefined))
        return fail("delete needs exactly one of --key-id and --session");
      // Erasure takes no other filter: refuse one rather than erase more than it seems to say.
      const other = FILTERS.find(([option]) => option !== "key-id" && option !== "session" && values[option]);
      if (other) return fail(`delete takes no --${other[0]}: it erases every record of the key or session`);
      const query = keyId !== undefined ? queryOf({}, { key_id: keyId }) : queryOf({}, { session });
      print(await call("DELETE", `/admin/records${query}`));
      return 0;
    }
    default:
      return fail(`unknown command ${command}`);
  }
}

/** The query string: the filters given, then `extra`; every value URL-encoded, unset ones left out. */
function queryOf(values: Partial<Values>, extra: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [option, name] of FILTERS) {
    const value = values[option];
    if (value !== undefined) params.set(name, value);
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) params.set(name, value);
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

/** The list command that shows the next page: the same options, with the next cursor. */
function moreCommand(values: Values, cursor: string): string {
  const words = ["npm", "run", "records", "--", "list"];
  for (const [option] of FILTERS) {
    const value = values[option];
    if (value !== undefined) words.push(`--${option}`, value);
  }
  if (values.limit !== undefined) words.push("--limit", values.limit);
  if (values.json) words.push("--json");
  words.push("--cursor", cursor);
  return words.map(shellWord).join(" ");
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function printTable(records: RecordView[]): void {
  if (records.length === 0) {
    console.error("no records");
    return;
  }
  const dash = (value: number | null) => (value === null ? "-" : String(value));
  const rows = records.map((record) => [
    clock(record.time),
    record.id,
    record.error_code ? `${record.status} ${record.error_code}` : String(record.status),
    record.selected_model ?? record.requested_model ?? "-",
    record.key_id ?? "-",
    record.session === null ? "-" : clip(record.session, 24),
    dash(record.ttfb_ms),
    String(record.duration_ms),
    tokens(record.usage),
    record.cost_usd === null ? "-" : record.cost_usd.toFixed(6),
    record.bodies === "kept"
      ? record.level
      : record.bodies === "redaction_failed"
        ? "redaction_failed"
        : "metadata",
  ]);
  const header = [
    "time (UTC)",
    "id",
    "status",
    "model",
    "key",
    "session",
    "ttfb ms",
    "ms",
    "tokens",
    "usd",
    "kept",
  ];
  const right = new Set([6, 7, 8, 9]);
  printColumns([header, ...rows], right);
}

function printSession(session: Session): void {
  const { totals } = session;
  console.log(
    `session ${session.id} · ${totals.requests} request${totals.requests === 1 ? "" : "s"} · ` +
      `${totals.prompt_tokens}/${totals.completion_tokens} tokens · $${totals.cost_usd.toFixed(6)}`,
  );
  for (const [index, turn] of session.turns.entries()) {
    const cost = turn.cost_usd === null ? "$-" : `$${turn.cost_usd.toFixed(6)}`;
    console.log(
      `\n── turn ${index + 1} · ${clock(turn.time)} · ${turn.model ?? "-"} · ${turn.status} · ` +
        `${tokens(turn.usage)} tokens · ${cost}`,
    );
    if (turn.new_messages === null) console.log("(no bodies recorded)");
    else for (const message of turn.new_messages) console.log(renderMessage(message));
    if (turn.answer) {
      const parts = [turn.answer.text ?? ""];
      for (const call of turn.answer.tool_calls ?? [])
        parts.push(`[tool_call ${call.name ?? "?"} ${call.arguments ?? ""}]`);
      if (turn.answer.truncated) parts.push("[truncated: recording kept no more]");
      console.log(labelled("assistant (answer)", parts));
    }
  }
}

/** One message, OpenAI or Anthropic: `role: text`, with its non-text parts in brackets. */
function renderMessage(message: unknown): string {
  if (typeof message !== "object" || message === null) return JSON.stringify(message);
  const { role, content, tool_calls, tool_call_id, name } = message as Record<string, unknown>;
  let label = typeof role === "string" ? role : "?";
  if (typeof tool_call_id === "string") label += ` (${tool_call_id})`;
  else if (typeof name === "string") label += ` (${name})`;
  const parts = contentParts(content);
  if (Array.isArray(tool_calls))
    for (const call of tool_calls as Array<{ function?: { name?: string; arguments?: string } }>)
      parts.push(`[tool_call ${call.function?.name ?? "?"} ${call.function?.arguments ?? ""}]`);
  return labelled(label, parts);
}

function contentParts(content: unknown): string[] {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return [content];
  if (!Array.isArray(content)) return [JSON.stringify(content)];
  return content.map((block: unknown) => {
    if (typeof block === "string") return block;
    if (typeof block !== "object" || block === null) return JSON.stringify(block);
    const part = block as Record<string, unknown>;
    switch (part.type) {
      case "text":
        return String(part.text ?? "");
      case "tool_use":
      case "server_tool_use":
        return `[${part.type} ${String(part.name ?? "?")} ${JSON.stringify(part.input ?? {})}]`;
      case "tool_result": {
        const text = contentParts(part.content).join(" ");
        return `[tool_result${part.is_error ? " (error)" : ""} ${clip(text, 200)}]`;
      }
      case "image":
      case "image_url":
        return "[image]";
      case "thinking":
        return `[thinking] ${String(part.thinking ?? "")}`;
      default:
        return `[${String(part.type ?? "?")}]`;
    }
  });
}

/** `label: ` and the parts, one per line; lines after the first indented under it. */
function labelled(label: string, parts: string[]): string {
  return `${label}: ${parts.join("\n").replaceAll("\n", "\n  ")}`;
}

/** An ISO time as YYYY-MM-DD HH:MM:SS (UTC); as given when it does not parse. */
function clock(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

function tokens(usage: Usage | null): string {
  if (usage === null) return "-";
  return `${usage.estimated ? "~" : ""}${usage.prompt_tokens}/${usage.completion_tokens}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

exitWith("records", main(process.argv.slice(2)));
