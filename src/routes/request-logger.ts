// Writes the request's one log line (docs/contract.md §11) when its answer is complete: after the handler for whole
// answers, or, for a committed stream, when the relay ends (the handler marks the line deferred).
import { createMiddleware } from "hono/factory";
import type { AppEnv, RequestLogHandle } from "../app-env.ts";
import { FailureError, failureCode } from "../core/failure.ts";
import { emptyLogFields, type RequestLog } from "../core/request-log.ts";

export const requestLogger = createMiddleware<AppEnv>(async (c, next) => {
  const startedMs = Date.now();
  const fields = emptyLogFields();
  let deferred = false;
  const write = (status: number) => {
    const line: RequestLog = {
      event: "request",
      requestId: c.get("requestId"),
      method: c.req.method,
      route: c.req.path,
      status,
      durationMs: Date.now() - startedMs,
      ...fields,
    };
    console.log(JSON.stringify(line));
    handle.onWrite?.(line);
  };
  const handle: RequestLogHandle = {
    fields,
    startedMs,
    routed: false,
    defer: () => {
      deferred = true;
      return write;
    },
  };
  c.set("log", handle);
  await next();
  if (c.error instanceof FailureError) fields.errorCode = failureCode(c.error.failure);
  if (!deferred) write(c.res.status);
});
