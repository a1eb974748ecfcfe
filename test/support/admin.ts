// The admin API as an operator calls it, on a configured router whose ADMIN_API_KEY is `adminKey`.
import { expect } from "vitest";
import type { configuredRouter } from "./router.ts";

export type Router = ReturnType<typeof configuredRouter>;

export function adminClient(adminKey: string) {
  const call = (router: Router, method: string, path: string, body?: unknown): Promise<Response> =>
    router.call(path, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  /** A new managed key (201 expected), with its secret. */
  const createKey = async (router: Router, body: Record<string, unknown>) => {
    const response = await call(router, "POST", "/admin/keys", { name: "test key", ...body });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; key: string; prefix: string };
  };
  return { admin: call, createKey };
}
