// What the admin CLIs (npm run keys, npm run records) share: how they end.

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
