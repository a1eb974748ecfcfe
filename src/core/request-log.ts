// The one structured log line per request (docs/contract.md §11). Built from routing facts only: never bodies, keys,
// token hashes or client IPs — there is no field that could hold them.
import type { AttemptRecord, ResumeNote, StreamEnd } from "./outcome.ts";

/** What a route learns about its request while handling it. */
export interface RequestLogFields {
  mode: "alias" | "list" | "direct" | null;
  candidates: number;
  attempts: AttemptRecord[];
  /** Each break of a committed stream mid-answer and what came of it (docs/contract.md §19). */
  resumes?: ResumeNote[];
  selected: string | null;
  /** Time to the first body byte sent to the client, for committed answers. */
  ttfbMs: number | null;
  /** How a committed stream ended: complete, upstream_error, idle_timeout, client_cancel. */
  streamEnd: StreamEnd | null;
  snapshotAgeMs: number | null;
  errorCode: string | null;
  /** The W3C trace the request belongs to (docs/contract.md §17), once routed. */
  traceId?: string;
  /** The managed key's id (never its secret), and whether admitting it waited on a Durable Object. */
  keyId?: string;
  keyCold?: boolean;
}

export interface RequestLog extends RequestLogFields {
  event: "request";
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
}

export function emptyLogFields(): RequestLogFields {
  return {
    mode: null,
    candidates: 0,
    attempts: [],
    selected: null,
    ttfbMs: null,
    streamEnd: null,
    snapshotAgeMs: null,
    errorCode: null,
  };
}
