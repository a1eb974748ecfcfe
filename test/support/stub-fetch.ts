// Stubs outbound fetch at the boundary: the worker and its Durable Objects run in the test's isolate, so a spy
// on globalThis.fetch sees every upstream and feed call. Unrouted URLs fail loudly instead of leaving the machine.
import { type MockInstance, vi } from "vitest";

export type StubHandler = (request: Request) => Response | Promise<Response>;

/** A request as the stub saw it, copied to plain data (request bodies cannot be read across I/O contexts). */
export interface RecordedCall {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

export interface FetchStub {
  /** Sets (or replaces) the handler for one URL without query string. */
  on(url: string, handler: StubHandler): void;
  /** Every request seen, in order. */
  readonly calls: RecordedCall[];
  restore(): void;
}

export function stubFetch(): FetchStub {
  const routes = new Map<string, StubHandler>();
  const calls: RecordedCall[] = [];
  const spy: MockInstance = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    calls.push({
      url: request.url,
      method: request.method,
      headers: new Headers(request.headers),
      body: request.body ? await request.clone().text() : "",
    });
    const url = new URL(request.url);
    const handler = routes.get(`${url.origin}${url.pathname}`);
    if (!handler) throw new TypeError(`unexpected fetch to ${request.url}`);
    return handler(request);
  });
  return {
    on: (url, handler) => routes.set(url, handler),
    calls,
    restore: () => spy.mockRestore(),
  };
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export const FEED_URLS = {
  utilization: "http://127.0.0.1:9/chutes/utilization",
  models: "http://127.0.0.1:9/v1/models",
} as const;
