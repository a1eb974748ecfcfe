// Hono's typing for this app: Worker bindings plus what middleware puts on the context.
import type { Config } from "./config.ts";
import type { RequestLog, RequestLogFields } from "./core/request-log.ts";

/** The request's log line in the making; `defer` hands the writing to whoever ends the response. */
export interface RequestLogHandle {
  fields: RequestLogFields;
  startedMs: number;
  defer(): (status: number) => void;
  /** The request reached routing (docs/contract.md §17): it is counted in routed_total and has a record. */
  routed: boolean;
  /** Called with the line once written (the request's record is made from it). */
  onWrite?: (line: RequestLog) => void;
}

export interface AppEnv {
  Bindings: Env & {
    ROUTER_API_KEYS?: string;
    UPSTREAM_API_KEY?: string;
    ADMIN_API_KEY?: string;
    RECORDING_REDACTION_KEY?: string;
  };
  Variables: { requestId: string; config: Config; log: RequestLogHandle };
}
