// npm run keys -- <create|list|show|revoke|rotate>: a small CLI over the router's admin API (docs/contract.md
// §15). It reads ROUTER_URL (default http://127.0.0.1:8787) and ADMIN_API_KEY from the environment, never
// from the command line, so the admin key stays out of shell history.
import { adminClient, commandLine, exitWith, type OptionValues } from "./cli.ts";

const USAGE = `usage: npm run keys -- <command> [options]

  create --name NAME [--models a,b] [--rpm N] [--tpm N] [--max-concurrency N]
         [--budget-usd USD] [--budget-period day|week|month|total] [--expires-at ISO-8601]
         [--recording off|metadata|redacted|full]
  update ID [the same options as create; "null" clears a limit or the key's own recording level]
  list
  show ID
  revoke ID
  rotate ID [--grace-seconds N]

Environment: ROUTER_URL (default http://127.0.0.1:8787), ADMIN_API_KEY (required).`;

const OPTIONS = {
  name: { type: "string" },
  models: { type: "string" },
  rpm: { type: "string" },
  tpm: { type: "string" },
  "max-concurrency": { type: "string" },
  "budget-usd": { type: "string" },
  "budget-period": { type: "string" },
  "expires-at": { type: "string" },
  recording: { type: "string" },
  "grace-seconds": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = OptionValues<typeof OPTIONS>;
const { read, fail } = commandLine("keys", USAGE, OPTIONS);

interface KeyView {
  id: string;
  name: string;
  prefix: string;
  status: string;
  rpm: number | null;
  tpm: number | null;
  max_concurrency: number | null;
  budget_usd: number | null;
  budget_period: string;
  last_used_at: string | null;
  spend: { usd: number };
  usage: { requests: number; prompt_tokens: number; completion_tokens: number };
  key?: string;
}

async function main(argv: string[]): Promise<number> {
  const line = read(argv);
  if (typeof line === "number") return line;
  const { command, id, values } = line;
  const admin = adminClient();
  if (!admin) return fail("ADMIN_API_KEY is not set");
  const call = async (method: string, path: string, body?: unknown) =>
    (await admin.call(method, path, body)) as Record<string, unknown> | null;
  const needId = () => {
    if (!id) throw new Error(`${command} needs a key id (see: npm run keys -- list)`);
    return encodeURIComponent(id);
  };

  switch (command) {
    case "create": {
      if (!values.name) return fail("create needs --name");
      const created = (await call("POST", "/admin/keys", createBody(values))) as unknown as KeyView;
      console.log(JSON.stringify(created, null, 2));
      console.error(`\nThe key is shown this once: ${created.key}`);
      return 0;
    }
    case "update": {
      const body = createBody(values);
      if (values.name === undefined) delete body.name;
      console.log(JSON.stringify(await call("PATCH", `/admin/keys/${needId()}`, body), null, 2));
      return 0;
    }
    case "list": {
      const list = (await call("GET", "/admin/keys")) as { data: KeyView[] };
      printTable(list.data);
      return 0;
    }
    case "show":
      console.log(JSON.stringify(await call("GET", `/admin/keys/${needId()}`), null, 2));
      return 0;
    case "revoke":
      console.log(JSON.stringify(await call("DELETE", `/admin/keys/${needId()}`), null, 2));
      return 0;
    case "rotate": {
      const body =
        values["grace-seconds"] === undefined ? {} : { grace_seconds: number(values["grace-seconds"]) };
      const rotated = (await call("POST", `/admin/keys/${needId()}/rotate`, body)) as unknown as KeyView;
      console.log(JSON.stringify(rotated, null, 2));
      console.error(`\nThe new key is shown this once: ${rotated.key}`);
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

/** The create body: only the options given, as the admin API's types (the API validates them). */
function createBody(values: Values): Record<string, unknown> {
  const body: Record<string, unknown> = { name: values.name };
  const or = <T>(text: string, read: (text: string) => T) => (text === "null" ? null : read(text));
  const same = (text: string) => text;
  if (values.models !== undefined)
    body.models = or(values.models, (text) => text.split(",").map((model) => model.trim()));
  if (values.rpm !== undefined) body.rpm = or(values.rpm, number);
  if (values.tpm !== undefined) body.tpm = or(values.tpm, number);
  if (values["max-concurrency"] !== undefined) body.max_concurrency = or(values["max-concurrency"], number);
  if (values["budget-usd"] !== undefined) body.budget_usd = or(values["budget-usd"], number);
  if (values["budget-period"] !== undefined) body.budget_period = values["budget-period"];
  if (values["expires-at"] !== undefined) body.expires_at = or(values["expires-at"], same);
  if (values.recording !== undefined) body.recording = or(values.recording, same);
  return body;
}

function number(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new Error(`not a number: ${text}`);
  return value;
}

function printTable(keys: KeyView[]): void {
  const limit = (value: number | null) => (value === null ? "-" : String(value));
  const rows = keys.map((key) => [
    key.id,
    key.prefix,
    key.name,
    key.status,
    `${key.spend.usd.toFixed(4)}/${key.budget_usd === null ? "-" : key.budget_usd} ${key.budget_period}`,
    limit(key.rpm),
    limit(key.tpm),
    limit(key.max_concurrency),
    String(key.usage.requests),
    key.last_used_at ?? "never",
  ]);
  const header = [
    "id",
    "prefix",
    "name",
    "status",
    "spend/budget USD",
    "rpm",
    "tpm",
    "conc",
    "requests",
    "last used",
  ];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] as string).length)),
  );
  for (const row of [header, ...rows])
    console.log(row.map((cell, i) => cell.padEnd(widths[i] as number)).join("  "));
}

exitWith("keys", main(process.argv.slice(2)));
