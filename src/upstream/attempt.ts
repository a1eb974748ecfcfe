// One upstream attempt for one model, classified by docs/contract.md §7 before anything reaches the client: committed
// (2xx with a first body byte), failed and retryable (with a response to pass on if it is the last), refused
// by the engine as not fitting the model (§16: a 400 in one of the engines' wordings, or in alias and list
// modes an error event as a stream's first), or an answer that passes through untouched. Failures are data;
// this never throws.

import {
  classifyEngineRefusal,
  classifyStreamedRefusal,
  type EngineRefusal,
} from "../core/engine-refusal.ts";
import { isEventStream } from "../core/event-stream.ts";
import {
  classifyStatus,
  type FailoverReason,
  isOverloadBody,
  statusReason,
} from "../core/failover-policy.ts";
import { createDeadline, type Deadline } from "./deadline.ts";
import { readFirstBytes } from "./first-byte.ts";

export interface AttemptRequest {
  url: string;
  headers: Record<string, string>;
  body: BodyInit;
  headerTimeoutMs: number;
  firstByteTimeoutMs: number;
  /** When true a retryable upstream answer is kept whole, to pass on as the final response. */
  isLastAttempt: boolean;
  /** The client's request signal: when it aborts, the attempt is cancelled, not failed over. */
  clientSignal?: AbortSignal;
  /** Commit an SSE answer only on content (a hedged race, docs/contract.md §13), not on its first byte. */
  contentGate?: boolean;
  /** Read an SSE answer's first event when it is an error, and treat an engine refusal there as a refusal. */
  refusalGate?: boolean;
}

export type AttemptVerdict =
  | {
      kind: "committed";
      response: Response;
      first: Uint8Array;
      reader: ReadableStreamDefaultReader<Uint8Array>;
      abort: (reason: string) => void;
      /** The attempt's one timer, which the relay goes on using for its idle waits. */
      deadline: Deadline;
    }
  | {
      kind: "retryable";
      reason: FailoverReason;
      /** The upstream status, when there was one. */
      status: number | null;
      /** Kept only when it may become the final answer (last attempt, or an overload 429 already read). */
      response: Response | null;
    }
  | { kind: "passthrough"; response: Response }
  /** The engine refused the request as not fitting the model; `response` is its answer, already read. */
  | { kind: "refused"; refusal: EngineRefusal; status: number; response: Response }
  | { kind: "cancelled" };

/** A 2xx with its first body byte: everything the relay needs. */
export type CommittedAttempt = Extract<AttemptVerdict, { kind: "committed" }>;

// Overload 429s and refusal 400s are small JSON; a larger body is read only this far to classify it.
const MAX_CLASSIFIED_BODY_BYTES = 64 * 1024;

/** An attempt under way: its verdict to come, and how to call it off. */
export interface RunningAttempt {
  verdict: Promise<AttemptVerdict>;
  /** Calls the attempt off (another won the race, or the client left): its verdict becomes `cancelled`. */
  cancel(reason: "hedge_lost" | "cancelled"): void;
}

export function startAttempt(request: AttemptRequest): RunningAttempt {
  const controller = new AbortController();
  let cancelled = false;
  // The body being read for the first-byte gate, let go of at once when the attempt is called off.
  let reading: ReadableStreamDefaultReader<Uint8Array> | null = null;
  const cancel = (reason: string) => {
    cancelled = true;
    controller.abort(reason);
    reading?.cancel().catch(() => {});
  };
  const run = async (): Promise<AttemptVerdict> => {
    const { clientSignal } = request;
    if (clientSignal?.aborted) return { kind: "cancelled" };
    const onClientAbort = () => cancel("client_cancel");
    clientSignal?.addEventListener("abort", onClientAbort);
    const deadline = createDeadline();
    try {
      const outcome = await attemptWithController(request, controller, deadline, (reader) => {
        reading = reader;
        if (cancelled) reader.cancel().catch(() => {});
      });
      reading = null;
      if (outcome.kind !== "committed") deadline.stop();
      if (!cancelled || outcome.kind === "committed") return outcome;
      if ("response" in outcome) await outcome.response?.body?.cancel().catch(() => {});
      return { kind: "cancelled" };
    } finally {
      clientSignal?.removeEventListener("abort", onClientAbort);
    }
  };
  return { verdict: run(), cancel };
}

async function attemptWithController(
  request: AttemptRequest,
  controller: AbortController,
  deadline: Deadline,
  onReading: (reader: ReadableStreamDefaultReader<Uint8Array>) => void,
): Promise<AttemptVerdict> {
  const abort = (reason: string) => controller.abort(reason);
  let headerTimedOut = false;
  deadline.arm(request.headerTimeoutMs, () => {
    headerTimedOut = true;
    abort("header_timeout");
  });
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
    });
  } catch {
    return {
      kind: "retryable",
      reason: headerTimedOut ? "upstream_header_timeout" : "upstream_connect_error",
      status: null,
      response: null,
    };
  } finally {
    deadline.disarm();
  }

  switch (classifyStatus(response.status)) {
    case "success": {
      const eventStream = isEventStream(response.headers.get("content-type"));
      return gateFirstByte(response, request.firstByteTimeoutMs, abort, deadline, onReading, {
        content: request.contentGate === true && eventStream,
        refusal: request.refusalGate === true && eventStream,
      });
    }
    case "retryable_status": {
      const reason = statusReason(response.status as 500 | 502 | 503 | 504);
      if (request.isLastAttempt) return { kind: "retryable", reason, status: response.status, response };
      await response.body?.cancel().catch(() => {});
      return { kind: "retryable", reason, status: response.status, response: null };
    }
    case "maybe_overloaded": {
      const text = await readTextUpTo(response, MAX_CLASSIFIED_BODY_BYTES);
      const copy = rebuild(response, text);
      return isOverloadBody(text)
        ? { kind: "retryable", reason: "upstream_overloaded", status: 429, response: copy }
        : { kind: "passthrough", response: copy };
    }
    case "maybe_refused": {
      const text = await readTextUpTo(response, MAX_CLASSIFIED_BODY_BYTES);
      const copy = rebuild(response, text);
      const refusal = classifyEngineRefusal(response.status, text);
      return refusal
        ? { kind: "refused", refusal, status: response.status, response: copy }
        : { kind: "passthrough", response: copy };
    }
    case "passthrough":
      return { kind: "passthrough", response };
  }
}

async function gateFirstByte(
  response: Response,
  timeoutMs: number,
  abort: (reason: string) => void,
  deadline: Deadline,
  onReading: (reader: ReadableStreamDefaultReader<Uint8Array>) => void,
  gates: { content: boolean; refusal: boolean },
): Promise<AttemptVerdict> {
  if (!response.body) {
    return {
      kind: "retryable",
      reason: "upstream_first_body_byte_timeout",
      status: response.status,
      response: null,
    };
  }
  const reader = response.body.getReader();
  onReading(reader);
  const { first, errorData } = await readFirstBytes(reader, timeoutMs, deadline, {
    content: gates.content,
    firstEvent: gates.refusal,
  });
  // An engine that refuses inside a 200 stream sends its error as the first event (older SGLang, vLLM's
  // generator errors); any other error event is relayed as the stream's (§7).
  const refusal = gates.refusal && errorData !== null ? classifyStreamedRefusal(errorData) : null;
  if (refusal) {
    abort("refused");
    reader.cancel().catch(() => {});
    const headers = { "content-type": "application/json" };
    return {
      kind: "refused",
      refusal,
      status: 400,
      response: new Response(errorData, { status: 400, headers }),
    };
  }
  if (first.kind === "chunk")
    return { kind: "committed", response, first: first.chunk, reader, abort, deadline };
  abort(first.kind);
  reader.cancel().catch(() => {});
  const reason =
    first.kind === "error" ? "upstream_first_body_byte_error" : "upstream_first_body_byte_timeout";
  return { kind: "retryable", reason, status: response.status, response: null };
}

async function readTextUpTo(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let total = 0;
  try {
    while (total < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body that breaks while we classify it is passed on as far as it got.
  } finally {
    reader.cancel().catch(() => {});
  }
  return text + decoder.decode();
}

/** The same status and headers with a body we already read (length recomputed). */
function rebuild(response: Response, text: string): Response {
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.delete("content-encoding");
  return new Response(text, { status: response.status, statusText: response.statusText, headers });
}
