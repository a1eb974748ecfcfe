// Hono's typing for this app: Worker bindings plus what middleware puts on the context.
import type { Config } from "./config.ts";

export interface AppEnv {
  Bindings: Env & { ROUTER_API_KEYS?: string; UPSTREAM_API_KEY?: string };
  Variables: { requestId: string; config: Config };
}
