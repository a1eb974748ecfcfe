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
  /** Aborts this attempt alone: another attempt of the same request won the race. */
  cancelSignal?: AbortSignal;
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

export async function attemptUpstream(request: AttemptRequest): Promise<AttemptVerdict> {
  const { clientSignal, cancelSignal } = request;
  if (clientSignal?.aborted || cancelSignal?.aborted) return { kind: "cancelled" };
  const controller = new AbortController();
  const abort = (reason: string) => controller.abort(reason);
  const onClientAbort = () => abort("client_cancel");
  const onCancel = () => abort("hedge_lost");
  clientSignal?.addEventListener("abort", onClientAbort);
  cancelSignal?.addEventListener("abort", onCancel);
  try {
    const outcome = await attemptWithController(request, controller, abort);
    if (!(clientSignal?.aborted || cancelSignal?.aborted) || outcome.kind === "committed") return outcome;
    if ("response" in outcome) await outcome.response?.body?.cancel().catch(() => {});
    return { kind: "cancelled" };
  } finally {
    clientSignal?.removeEventListener("abort", onClientAbort);
    cancelSignal?.removeEventListener("abort", onCancel);
  }
}

async function attemptWithController(
  request: AttemptRequest,
  controller: AbortController,
  abort: (reason: string) => void,
): Promise<AttemptVerdict> {
  let headerTimedOut = false;
  const headerTimer = setTimeout(() => {
    headerTimedOut = true;
    controller.abort("header_timeout");
  }, request.headerTimeoutMs);
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
    clearTimeout(headerTimer);
  }

  switch (classifyStatus(response.status)) {
    case "success": {
      const eventStream = isEventStream(response.headers.get("content-type"));
      return gateFirstByte(response, request.firstByteTimeoutMs, abort, controller.signal, {
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
  signal: AbortSignal,
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
  // Cancelled while waiting (the client left, or another attempt won): let go of the body at once.
  const release = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", release);
  if (signal.aborted) release();
  const { first, errorData } = await readFirstBytes(reader, timeoutMs, {
    content: gates.content,
    firstEvent: gates.refusal,
  });
  signal.removeEventListener("abort", release);
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
  if (first.kind === "chunk") return { kind: "committed", response, first: first.chunk, reader, abort };
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
