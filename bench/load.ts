// A small closed-loop load client: `concurrency` workers each send requests back to back until `requests`
// are done; records each request's full latency and, for streams, its time to first body byte.
// Bounded by count and by `deadlineMs`, and only ever aimed at loopback URLs.

export interface LoadOptions {
  url: string;
  body: (worker: number) => string;
  headers: (worker: number) => Record<string, string>;
  concurrency: number;
  requests: number;
  stream: boolean;
  deadlineMs: number;
}

export interface LoadResult {
  latenciesMs: number[];
  ttfbMs: number[];
  failures: number;
  failureSamples: string[];
  elapsedMs: number;
  completed: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (!/^http:\/\/127\.0\.0\.1[:/]/.test(options.url))
    throw new Error(`refusing a non-loopback target: ${options.url}`);
  const result: LoadResult = {
    latenciesMs: [],
    ttfbMs: [],
    failures: 0,
    failureSamples: [],
    elapsedMs: 0,
    completed: 0,
  };
  let issued = 0;
  const started = performance.now();
  const deadline = started + options.deadlineMs;
  const worker = async (id: number) => {
    while (issued < options.requests && performance.now() < deadline) {
      issued += 1;
      const t0 = performance.now();
      try {
        const response = await fetch(options.url, {
          method: "POST",
          headers: options.headers(id),
          body: options.body(id),
        });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        const first = await reader.read();
        const t1 = performance.now();
        let done = first.done;
        while (!done) done = (await reader.read()).done;
        const t2 = performance.now();
        if (response.status !== 200) throw new Error(`status ${response.status}`);
        result.latenciesMs.push(t2 - t0);
        if (options.stream) result.ttfbMs.push(t1 - t0);
        result.completed += 1;
      } catch (error) {
        result.failures += 1;
        if (result.failureSamples.length < 3) result.failureSamples.push(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  result.elapsedMs = performance.now() - started;
  return result;
}
