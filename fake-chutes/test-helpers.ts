// Client-side helpers shared by the fake's self-tests (real fetch against a running fake): the fake's lifetime
// per test file, posting completions, splitting SSE, reading a body until it breaks, bounded polling. Not a
// test file itself.
import { after, before, beforeEach } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type FakeChutes, startFakeChutes } from "./server.ts";

export type CompletionPath = "/v1/chat/completions" | "/v1/completions";

/** POSTs a completion request the way the router forwards one. */
export function postCompletion(
  baseUrl: string,
  body: Record<string, unknown>,
  options: { path?: CompletionPath; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${baseUrl}${options.path ?? "/v1/chat/completions"}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer cpk_test", ...options.headers },
    body: JSON.stringify(body),
    signal: options.signal ?? AbortSignal.timeout(5_000),
  });
}

export function postJson(url: string, value: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(value),
  });
}

/** The `data:` payloads of an SSE text, in order (throws on a block that is not one `data:` line). */
export function splitSse(text: string): string[] {
  return text
    .split("\n\n")
    .filter((block) => block !== "")
    .map((block) => {
      if (!block.startsWith("data: ") || block.includes("\n"))
        throw new Error(`not an SSE data event: ${block}`);
      return block.slice("data: ".length);
    });
}

/** Reads a body to its end or its first error; returns what arrived and the error, if any. */
export async function readUntilError(response: Response): Promise<{ text: string; error: unknown }> {
  const reader = readerOf(response);
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: null };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

/** Reads until `count` SSE events have arrived (or the body ends), leaving the reader open. */
export async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<string[]> {
  const decoder = new TextDecoder();
  let text = "";
  while (splitSse(text.slice(0, text.lastIndexOf("\n\n") + 2)).length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return splitSse(text);
}

export function readerOf(response: Response): ReadableStreamDefaultReader<Uint8Array> {
  if (response.body === null) throw new Error("response has no body");
  return response.body.getReader();
}

/** Polls `read` every 10 ms until it returns a value, for at most `timeoutMs`. */
export async function waitFor<T>(read: () => T | undefined, timeoutMs = 2_000): Promise<T> {
  for (let waited = 0; waited <= timeoutMs; waited += 10) {
    const value = read();
    if (value !== undefined) return value;
    await delay(10);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** Resolves "timeout" after `ms` unless `promise` settles first; the timer never outlives the race. */
export async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  const timer = new AbortController();
  const timeout = delay(ms, "timeout" as const, { signal: timer.signal }).catch(() => "timeout" as const);
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    timer.abort();
  }
}

/**
 * A fake Chutes for a test file: started before its tests, closed after them, reset before each one. The
 * first fetch in a process loads the HTTP client, so it is made here, out of the timed tests.
 */
export function useFakeChutes(): () => FakeChutes {
  let fake: FakeChutes | undefined;
  before(async () => {
    fake = await startFakeChutes();
    await (await fetch(`${fake.url}/v1/models`)).text();
  });
  after(() => fake?.close());
  beforeEach(() => fake?.reset());
  return () => {
    if (!fake) throw new Error("the fake Chutes has not started");
    return fake;
  };
}
