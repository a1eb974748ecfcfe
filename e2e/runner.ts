// A tiny scenario runner for the end-to-end suites: runs named async checks in order, times them, never stops
// at the first failure, prints `N passed, N failed`, and writes a JSON report.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export interface ScenarioResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export type Scenario = { name: string; run: () => Promise<void> };

export async function runScenarios(
  title: string,
  scenarios: readonly Scenario[],
  between: () => Promise<void>,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  console.log(`${title}: ${scenarios.length} scenarios`);
  for (const scenario of scenarios) {
    const started = performance.now();
    try {
      await scenario.run();
      results.push({ name: scenario.name, ok: true, ms: Math.round(performance.now() - started) });
      console.log(`  ✓ ${scenario.name} (${Math.round(performance.now() - started)} ms)`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      results.push({
        name: scenario.name,
        ok: false,
        ms: Math.round(performance.now() - started),
        error: message,
      });
      console.log(`  ✗ ${scenario.name}\n${indent(message)}`);
    }
    await between();
  }
  return results;
}

export async function writeReport(path: string, report: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}

/** Polls `check` until it returns a truthy value or the time is up. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 8000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function indent(text: string): string {
  return text
    .split("\n")
    .slice(0, 12)
    .map((line) => `      ${line}`)
    .join("\n");
}
