// `npm run lint` part two: mutable module-level state lives only in src/isolate/, where it is kept per env
// (README, "How it is built"). Lists every other top-level `let`/`var` in src/ and fails if there is one.
// Biome formats the code, so a declaration at column 0 is a module-level one.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "..", "src");
const ALLOWED_FOLDER = join(ROOT, "isolate");
const MODULE_LEVEL_MUTABLE = /^(export\s+)?(let|var)\s/;

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith(".test.ts")) yield path;
  }
}

const offences: string[] = [];
for (const file of sourceFiles(ROOT)) {
  if (file.startsWith(ALLOWED_FOLDER)) continue;
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (MODULE_LEVEL_MUTABLE.test(line))
        offences.push(`src/${relative(ROOT, file)}:${index + 1}: ${line.trim()}`);
    });
}
if (offences.length > 0) {
  console.error("Module-level mutable state outside src/isolate/ (keep it per env there instead):");
  for (const offence of offences) console.error(`  ${offence}`);
  process.exit(1);
}
console.log("module state: none outside src/isolate/");
