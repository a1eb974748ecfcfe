// The floor for a Workers proxy that must see the answer as it passes (to meter it, time it out, end it with
// an error event): bench/passthrough-worker.js, but with the body relayed through a JavaScript stream, one
// chunk per pull and nothing else. `npm run bench:cpu` measures the router against both floors.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const upstream = await fetch(`${env.UPSTREAM_BASE_URL}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
    });
    const reader = upstream.body.getReader();
    const body = new ReadableStream(
      {
        async pull(controller) {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, upstream);
  },
};
