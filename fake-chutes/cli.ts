// Command line: `node fake-chutes/cli.ts [--port N] [--catalogue real]` starts the fake on 127.0.0.1, prints
// one JSON line `{"url": "..."}` once listening, and stops cleanly on SIGINT/SIGTERM. Scripting goes through
// `/__admin/`.
import { parseArgs } from "node:util";
import { startFakeChutes } from "./server.ts";

const USAGE =
  "usage: node fake-chutes/cli.ts [--port N] [--catalogue fake|real]   (N from 0 to 65535; 0 = any free port)";

type Args = { kind: "run"; port: number; catalogue: "fake" | "real" } | { kind: "help" } | { kind: "bad" };

function readArgs(): Args {
  try {
    const { values } = parseArgs({
      options: { port: { type: "string" }, catalogue: { type: "string" }, help: { type: "boolean" } },
    });
    if (values.help === true) return { kind: "help" };
    const port = Number(values.port ?? "0");
    const catalogue = values.catalogue ?? "fake";
    if (catalogue !== "fake" && catalogue !== "real") return { kind: "bad" };
    return Number.isInteger(port) && port >= 0 && port <= 65535
      ? { kind: "run", port, catalogue }
      : { kind: "bad" };
  } catch {
    return { kind: "bad" };
  }
}

const args = readArgs();
if (args.kind === "run") {
  const fake = await startFakeChutes({ port: args.port, catalogue: args.catalogue });
  const stop = () => {
    void fake.close();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
} else {
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = args.kind === "help" ? 0 : 2;
}
