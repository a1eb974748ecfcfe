// What the admin CLIs (npm run keys, records, rollouts) share: how they read their command line and refuse a
// mistake in it, how they call the admin API, how they end, and how they print a table. ROUTER_URL and ADMIN_API_KEY come from the environment, never from the command line,
// so the admin key stays out of shell history.
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";

/** The values `parseArgs` gives for `options`. */
export type OptionValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true }>
>["values"];

/** One admin CLI's command line, `name command [id] --options`, and how it refuses a mistake in it. */
export function commandLine<O extends ParseArgsOptionsConfig>(name: string, usage: string, options: O) {
  return {
    /** The command, its id and the options; or the exit code once the usage is printed (asked: 0, no command: 2). */
    read(argv: string[]): { command: string; id: string | undefined; values: OptionValues<O> } | number {
      const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
      const [command, id] = positionals;
      const help = (values as { help?: unknown }).help === true;
      if (help || !command) {
        console.log(usage);
        return command || help ? 0 : 2;
      }
      return { command, id, values: values as OptionValues<O> };
    },
    /** A mistake in the command line, said with the usage; the exit code is 2. */
    fail(message: string): number {
      console.error(`${name}: ${message}\n\n${usage}`);
      return 2;
    },
  };
}

/** Exits with what `main` returned; a thrown error prints `<name>: <message>` and exits 1. */
export function exitWith(name: string, main: Promise<number>): void {
  main.then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

/** Rows as columns two spaces apart, the `right` ones aligned right. */
export function printColumns(rows: string[][], right: ReadonlySet<number>): void {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  for (const row of rows)
    console.log(
      row
        .map((cell, i) =>
          right.has(i) ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number),
        )
        .join("  ")
        .trimEnd(),
    );
}

export interface AdminClient {
  base: string;
  /** The answer to `method path` (with `body` as JSON); a refusal throws `<status>: <the router's message>`. */
  request(method: string, path: string, body?: unknown): Promise<Response>;
  /** The same, its JSON body. */
  call(method: string, path: string, body?: unknown): Promise<unknown>;
}

/** The admin API at ROUTER_URL (default http://127.0.0.1:8787) with ADMIN_API_KEY; null when that is unset. */
export function adminClient(): AdminClient | null {
  const adminKey = process.env.ADMIN_API_KEY;
  if (!adminKey) return null;
  const base = (process.env.ROUTER_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
  const request = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((error: unknown) => {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach ${base}: ${cause?.code ?? cause?.message ?? String(error)}`);
    });
    if (!response.ok) {
      const payload = (await response.json().catch(() => null)) as Record<string, unknown> | null;
      const error = payload?.error as { message?: string } | undefined;
      throw new Error(`${response.status}: ${error?.message ?? "the router refused the request"}`);
    }
    return response;
  };
  return {
    base,
    request,
    call: async (method, path, body) => (await request(method, path, body)).json() as Promise<unknown>,
  };
}
