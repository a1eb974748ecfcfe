// Hono wiring only: request id, routes, the 404/405 answers, and the one place errors become OpenAI bodies.
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { AppEnv } from "./app-env.ts";
import { RouterError, toOpenAIErrorBody } from "./core/router-error.ts";
import { completionsRoutes } from "./routes/completions.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { modelsRoutes } from "./routes/models.ts";
import { requestLogger } from "./routes/request-logger.ts";
import { statusRoutes } from "./routes/status.tsx";

export const app = new Hono<AppEnv>();

app.use(requestId({ generator: () => crypto.randomUUID() }));
app.use(requestLogger);

app.route("/", healthRoutes);
app.route("/", statusRoutes);
app.route("/", metricsRoutes);
app.route("/v1", modelsRoutes);
app.route("/v1", completionsRoutes);

/** Known paths answer 405 for other methods, with the methods they accept. */
const ALLOWED_METHODS: Record<string, string> = {
  "/healthz": "GET, HEAD",
  "/readyz": "GET, HEAD",
  "/status": "GET, HEAD",
  "/metrics": "GET, HEAD",
  "/v1/models": "GET, HEAD",
  "/v1/chat/completions": "POST",
  "/v1/completions": "POST",
};
for (const [path, allow] of Object.entries(ALLOWED_METHODS)) {
  app.all(path, (c) => {
    c.header("allow", allow);
    throw new RouterError(
      405,
      "invalid_request_error",
      "method_not_allowed",
      `${c.req.method} is not allowed on ${path}`,
    );
  });
}

app.notFound((c) =>
  c.json(
    toOpenAIErrorBody(`No route for ${c.req.method} ${c.req.path}`, "invalid_request_error", "not_found"),
    404,
  ),
);

app.onError((error, c) => {
  if (error instanceof RouterError) return c.json(error.toBody(), error.status as 400);
  console.error(
    JSON.stringify({ event: "unhandled_error", requestId: c.get("requestId"), error: String(error) }),
  );
  return c.json(
    toOpenAIErrorBody("The router failed to handle this request", "server_error", "internal_error"),
    500,
  );
});
