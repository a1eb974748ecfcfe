// Hono wiring only: request id, the log line, the refusal counter, each protocol's routes (each answers its
// own failures in its own shape: routes/openai.ts, routes/responses.ts, routes/anthropic.ts), the operator routes, and the 404/405
// answers elsewhere, in OpenAI's error shape.
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { openAPIRouteHandler } from "hono-openapi";
import type { AppEnv } from "./app-env.ts";
import { FailureError } from "./core/failure.ts";
import { noteLocation } from "./isolate/isolate-state.ts";
import { failureHandler } from "./protocols/on-error.ts";
import { renderOpenAIFailure } from "./protocols/openai/errors.ts";
import { adminRoutes } from "./routes/admin.ts";
import { anthropicRoutes } from "./routes/anthropic.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { openAIRoutes } from "./routes/openai.ts";
import { recordsPageRoutes } from "./routes/records-page.tsx";
import { countRefusals } from "./routes/refusal-counter.ts";
import { requestLogger } from "./routes/request-logger.ts";
import { responsesRoutes } from "./routes/responses.ts";
import { statusRoutes } from "./routes/status.tsx";

export const app = new Hono<AppEnv>();

/** Known paths answer 405 for other methods, with the methods they accept (/v1/messages*: its own routes). */
const ALLOWED_METHODS: Record<string, string> = {
  "/healthz": "GET, HEAD",
  "/readyz": "GET, HEAD",
  "/status": "GET, HEAD",
  "/status/requests": "GET, HEAD",
  "/status/requests/:id": "GET, HEAD",
  "/metrics": "GET, HEAD",
  "/v1/models": "GET, HEAD",
  "/v1/chat/completions": "POST",
  "/v1/completions": "POST",
  "/admin/keys": "GET, HEAD, POST",
  "/admin/keys/:id": "GET, HEAD, PATCH, DELETE",
  "/admin/keys/:id/rotate": "POST",
  "/admin/records": "GET, HEAD, DELETE",
  "/admin/records/export": "GET, HEAD",
  "/admin/records/:id": "GET, HEAD",
  "/admin/sessions/:id": "GET, HEAD",
  "/admin/rollouts": "GET, HEAD, POST",
  "/admin/rollouts/:id": "GET, HEAD, PATCH",
  "/admin/rollouts/:id/pause": "POST",
  "/admin/rollouts/:id/resume": "POST",
  "/admin/rollouts/:id/abort": "POST",
  "/admin/rollouts/:id/promote": "POST",
  "/openapi.json": "GET, HEAD",
};
/** The routing API: every answer on these paths is counted in requests_total, refusals included. */
const API_PATHS = [
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/responses",
  "/v1/messages",
  "/v1/messages/count_tokens",
];

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
app.route("/", recordsPageRoutes);
app.route("/", metricsRoutes);
app.route("/v1", openAIRoutes);
app.route("/v1", anthropicRoutes);
app.route("/v1", responsesRoutes);
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
          "OpenAI-compatible (chat, completions, Responses) and Anthropic-compatible router for Chutes (docs/contract.md). Client routes take a client key; /admin/* takes ADMIN_API_KEY.",
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

const renderOpenAI = failureHandler((failure) => renderOpenAIFailure(failure));
app.notFound((c) =>
  renderOpenAI(new FailureError({ kind: "not_found", method: c.req.method, path: c.req.path }), c),
);
app.onError(renderOpenAI);
