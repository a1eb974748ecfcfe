// The log of completion requests the fake received, bounded so long benchmarks do not grow it without limit.
// Entries are updated in place while their response runs; readers get copies.
import type { BehaviorKind } from "./behaviors.ts";

export type RequestLogEntry = {
  id: number;
  path: string;
  /** `body.model` when it is a string. */
  model: string | null;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** The raw request body, as received. */
  body: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** Behaviour played, or null when the request was refused first (bad JSON, unknown model). */
  /** The behaviour played, or `refused` when the engine refused the request as not fitting (engine-limits.ts). */
  behavior: BehaviorKind | "refused" | null;
  /** Status sent so far, or null while (or when) no headers went out. */
  status: number | null;
  /** The client closed the connection before the response finished. */
  cancelled: boolean;
  /** The response was sent in full. */
  completed: boolean;
};

/** The part of an entry its handler updates; `status` is read from the response instead. */
export type LiveEntry = Omit<RequestLogEntry, "status">;

type Stored = { entry: LiveEntry; statusOf: () => number | null };

export class RequestLog {
  #stored: Stored[] = [];
  #nextId = 1;
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** Records a request; `statusOf` reads its response's status as it stands (headers precede the end). */
  add(
    request: Pick<LiveEntry, "path" | "model" | "headers" | "body" | "startedAt">,
    statusOf: () => number | null,
  ) {
    const entry: LiveEntry = {
      id: this.#nextId++,
      ...request,
      behavior: null,
      cancelled: false,
      completed: false,
    };
    this.#stored.push({ entry, statusOf });
    if (this.#stored.length > this.#maxEntries) this.#stored.shift();
    return entry;
  }

  list(): RequestLogEntry[] {
    return this.#stored.map(({ entry, statusOf }) => ({
      ...entry,
      headers: { ...entry.headers },
      status: statusOf(),
    }));
  }

  clear(): void {
    this.#stored = [];
  }
}
