// Hono wiring only: request id, the log line, routes, the 404/405 answers, and the one place a thrown failure
// becomes an answer, in the protocol of the route that threw it (OpenAI's unless the route says otherwise).
import type { Context } from "hono";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { openAPIRouteHandler } from "hono-openapi";
import type { AppEnv } from "./app-env.ts";
import { type Failure, FailureError, failureHeaders, failureStatus } from "./core/failure.ts";
import { noteLocation } from "./isolate/isolate-state.ts";
import {
  anthropicErrorBody,
  anthropicFailureMessage,
  anthropicFailureStatus,
} from "./protocols/anthropic/errors.ts";
import { toOpenAIError } from "./protocols/openai/errors.ts";
import { adminRoutes } from "./routes/admin.ts";
import { completionsRoutes } from "./routes/completions.ts";
import { healthRoutes } from "./routes/health.ts";
import { messagesRoutes } from "./routes/messages.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { modelsRoutes } from "./routes/models.ts";
import { countRefusals } from "./routes/refusal-counter.ts";
import { requestLogger } from "./routes/request-logger.ts";
import { statusRoutes } from "./routes/status.tsx";

export const app = new Hono<AppEnv>();

/** Known paths answer 405 for other methods, with the methods they accept. */
const ALLOWED_METHODS: Record<string, string> = {
  "/healthz": "GET, HEAD",
  "/readyz": "GET, HEAD",
  "/status": "GET, HEAD",
  "/metrics": "GET, HEAD",
  "/v1/models": "GET, HEAD",
  "/v1/chat/completions": "POST",
  "/v1/completions": "POST",
  "/v1/messages": "POST",
  "/v1/messages/count_tokens": "POST",
  "/admin/keys": "GET, HEAD, POST",
  "/admin/keys/:id": "GET, HEAD, PATCH, DELETE",
  "/admin/keys/:id/rotate": "POST",
  "/openapi.json": "GET, HEAD",
};
/** The routing API: every answer on these paths is counted in requests_total, refusals included. */
const API_PATHS = ["/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/messages/count_tokens"];

app.use(requestId({ generator: () => crypto.randomUUID() }));
// The isolate reports to its location's aggregator (research/SCALE.md).
app.use(async (c, next) => {
  noteLocation(c.env, c.req.raw);
  await next();
});
app.use(requestLogger);
for (const path of API_PATHS) app.use(path, countRefusals);

app.route("/", healthRoutes);
app.route("/", statusRoutes);
app.route("/", metricsRoutes);
app.route("/v1", modelsRoutes);
app.route("/v1", completionsRoutes);
app.route("/v1", messagesRoutes);
app.route("/", adminRoutes);
app.get(
  "/openapi.json",
  openAPIRouteHandler(app, {
    documentation: {
      openapi: "3.1.0",
      info: {
        title: "Chutes AutoPilot router",
        version: "1",
        description:
          "OpenAI- and Anthropic-compatible router for Chutes (docs/contract.md). Client routes take a client key; /admin/* takes ADMIN_API_KEY.",
      },
      components: {
        securitySchemes: {
          clientKey: {
            type: "http",
            scheme: "bearer",
            description:
              "A managed key (sk-ap-…), a static ROUTER_API_KEYS key, or in passthrough mode the client's own Chutes key.",
          },
          adminKey: { type: "http", scheme: "bearer", description: "ADMIN_API_KEY." },
        },
      },
    },
  }),
);

for (const [path, allow] of Object.entries(ALLOWED_METHODS)) {
  app.all(path, (c) => {
    throw new FailureError({ kind: "method_not_allowed", method: c.req.method, path, allow });
  });
}

app.notFound((c) => renderFailure(c, { kind: "not_found", method: c.req.method, path: c.req.path }));

app.onError((error, c) => {
  if (error instanceof FailureError) return renderFailure(c, error.failure);
  // Hono's JSON validator refuses a body that is not JSON before the schema sees it.
  if (error instanceof HTTPException && error.status === 400)
    return renderFailure(c, { kind: "invalid_json" });
  console.error(
    JSON.stringify({ event: "unhandled_error", requestId: c.get("requestId"), error: String(error) }),
  );
  return renderFailure(c, { kind: "internal_error" });
});

/** The Anthropic Messages paths answer in Anthropic's error shape (docs/contract.md §14), the rest in OpenAI's. */
function renderFailure(c: Context<AppEnv>, failure: Failure): Response {
  if (c.req.path === "/v1/messages" || c.req.path.startsWith("/v1/messages/")) {
    const status = anthropicFailureStatus(failure);
    const requestId = c.get("requestId");
    const body = anthropicErrorBody(status, anthropicFailureMessage(failure), requestId);
    return c.json(body, status as ContentfulStatusCode, {
      ...failureHeaders(failure),
      "request-id": requestId,
    });
  }
  const status = failureStatus(failure) as ContentfulStatusCode;
  return c.json(toOpenAIError(failure), status, failureHeaders(failure));
}
