// What the admin CLIs (npm run keys, records, rollouts) share: how they end, and how they print a table.

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
