// W3C Trace Context (docs/contract.md §17): a client's `traceparent` is continued, else a trace is started.
// The router is one span of the trace: its upstream attempts carry `traceparent` with the same trace id and
// the router's span id, and the log line and the record name the trace id.

export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** The router's own span: 16 lowercase hex digits. */
  spanId: string;
  /** The client's flags (sampled, …), kept as they came; `01` for a trace the router started. */
  flags: string;
  /** The header to send upstream. */
  traceparent: string;
}

// version-traceid-parentid-flags; version ff is invalid, and an all-zero id is invalid.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

const randomHex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");

/** The trace this request belongs to: the client's when its `traceparent` is valid, else a new one. */
export function traceContext(header: string | null): TraceContext {
  const match = header?.trim().toLowerCase().match(TRACEPARENT);
  const valid =
    match &&
    match[1] !== "ff" &&
    // Version 00 has exactly four fields; later versions may add more.
    (match[1] !== "00" || match[5] === undefined) &&
    !/^0+$/.test(match[2] ?? "") &&
    !/^0+$/.test(match[3] ?? "");
  const traceId = valid && match[2] ? match[2] : randomHex(16);
  const flags = valid && match[4] ? match[4] : "01";
  const spanId = randomHex(8);
  return { traceId, spanId, flags, traceparent: `00-${traceId}-${spanId}-${flags}` };
}
