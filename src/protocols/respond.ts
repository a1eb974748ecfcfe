// What every protocol's answer shares (docs/contract.md §9, §11): the router's response headers, the routing
// facts written into the request's log line, and the relay of a committed stream, which takes over the log
// line and writes it when the stream ends, with time to first byte and how the stream ended.
import type { RequestLogHandle } from "../app-env.ts";
import { isEventStream } from "../core/event-stream.ts";
import { failureCode } from "../core/failure.ts";
import type { RoutingResult } from "../routing/routing-request.ts";
import { relayBody, type StreamFraming } from "../upstream/relay.ts";

export interface ResponseMeta {
  requestId: string;
  idleTimeoutMs: number;
  startedMs: number;
  log: RequestLogHandle;
}

/** Copies the routing facts into the log line. */
export function recordRouting(log: RequestLogHandle, result: RoutingResult): void {
  const { fields } = log;
  fields.mode = result.trace.mode;
  fields.candidates = result.trace.candidates;
  fields.snapshotAgeMs = result.trace.snapshotAgeMs;
  fields.attempts = result.trace.attempts;
  if (result.trace.keyLedgerWaited) fields.keyCold = true;
  fields.selected = result.kind === "committed" || result.kind === "upstream_answer" ? result.model : null;
  if (result.kind === "refused" || result.kind === "failed") fields.errorCode = failureCode(result.failure);
}

/**
 * `x-request-id` and `x-chutes-autopilot-attempts` on every answer after attempts, plus
 * `x-chutes-autopilot-selected` in alias and list modes when a model answered, and
 * `x-chutes-autopilot-max-tokens` when the answering model was asked for less output than the client (§16).
 */
export function routerHeaders(meta: ResponseMeta, result: RoutingResult): Record<string, string> {
  const headers: Record<string, string> = {
    "x-request-id": meta.requestId,
    "x-chutes-autopilot-attempts": String(result.trace.attempts.length),
  };
  const selected = result.kind === "committed" || result.kind === "upstream_answer" ? result.model : null;
  if (result.trace.mode !== "direct" && selected !== null) headers["x-chutes-autopilot-selected"] = selected;
  const lowered = result.trace.attempts.findLast((attempt) => attempt.model === selected)?.maxTokens;
  if (selected !== null && lowered !== undefined) headers["x-chutes-autopilot-max-tokens"] = String(lowered);
  return headers;
}

/**
 * The client's body for a committed answer, relayed through `framing`. When it ends, the pipeline learns how
 * (`finish`: breaker, model health, stickiness) and the request's log line is written.
 */
export function relayCommitted(
  result: Extract<RoutingResult, { kind: "committed" }>,
  framing: StreamFraming,
  meta: ResponseMeta,
): ReadableStream<Uint8Array> {
  const { commit } = result;
  const ttfbMs = Date.now() - meta.startedMs;
  meta.log.fields.ttfbMs = ttfbMs;
  const writeLog = meta.log.defer();
  const eventStream = isEventStream(commit.response.headers.get("content-type"));
  return relayBody(commit, {
    idleTimeoutMs: meta.idleTimeoutMs,
    isEventStream: eventStream,
    framing,
    continueWith: result.continueWith,
    splice: result.splice,
    subscribers: result.subscribers,
    onEnd: (parts) => {
      const end = parts.at(-1)?.end ?? "complete";
      result.finish({ end, ttfbMs, durationMs: Date.now() - meta.startedMs, eventStream }, parts);
      meta.log.fields.streamEnd = end;
      // Each break mid-answer and what came of it (§19), noted while the answer streamed.
      if (result.trace.resumes) meta.log.fields.resumes = result.trace.resumes;
      if (end !== "complete")
        meta.log.fields.errorCode = end === "client_cancel" ? "client_cancel" : "upstream_stream_error";
      writeLog(commit.response.status);
    },
  });
}
