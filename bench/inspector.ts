// The router isolate's inspector (Chrome DevTools Protocol over a WebSocket on loopback), for the by-hand
// measurements: CPU profiles (bench/profile.ts) and heap figures (bench/request-memory.ts).

export interface Inspector {
  /** Sends one protocol command and resolves with its result. */
  send(method: string, params?: object): Promise<unknown>;
  close(): void;
}

/** Connects to the inspector target of the Worker named `router` (else the first one) on `port`. */
export async function connectInspector(port: number): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
    title: string;
    webSocketDebuggerUrl: string;
  }>;
  const target = targets.find((t) => t.title.includes("router")) ?? targets[0];
  if (!target) throw new Error("no inspector target");
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  return {
    send: (method, params = {}) =>
      new Promise<unknown>((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}
