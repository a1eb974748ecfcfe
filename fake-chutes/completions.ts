// Plays one behaviour on one completion response: success (JSON or SSE), scripted errors, delays, resets and
// stalls, and continuations of a final assistant message (continuation.ts). Which behaviour applies, and the
// request log, are server.ts's job.
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Behavior, ContinuationMode } from "./behaviors.ts";
import {
  chunksSpanning,
  continuationStamp,
  continuationUsage,
  continuedAnswer,
  renderContinuation,
} from "./continuation.ts";
import { defaultStatusDetail, detailBody, NGINX_429_HTML, overloadDetail } from "./error-bodies.ts";
import { sendText, sleep, waitForAbort, writeFlushed } from "./http-io.ts";
import {
  type AnswerExtras,
  bodyChunks,
  type CompletionKind,
  completionBody,
  contentChunk,
  countUsage,
  extraTokens,
  type RenderedAnswer,
  streamTail,
  toSseEvent,
  type Usage,
} from "./openai-payloads.ts";

export const DEFAULT_CHUNKS = 5;

/** Everything a behaviour needs to answer one request. */
export type CompletionRun = {
  res: ServerResponse;
  socket: Socket;
  kind: CompletionKind;
  model: string;
  chuteId: string;
  stream: boolean;
  requestBody: string;
  invocationId: string;
  /**
   * The final assistant message a chat request asks to continue (`continue_final_message`, with
   * `add_generation_prompt: false`); "" when that message is not the assistant's text. Null: not a continuation.
   */
  continueFrom: string | null;
  /** Aborts when the client goes away or the fake shuts down. */
  signal: AbortSignal;
  /** Called just before the fake drops the connection itself, so it is not logged as a client cancel. */
  onDrop(): void;
};

type SuccessOptions = AnswerExtras & {
  chunks?: number;
  intervalMs?: number;
  firstByteDelayMs?: number;
  continuation?: ContinuationMode;
};

export async function playBehavior(run: CompletionRun, behavior: Behavior): Promise<void> {
  const { res } = run;
  switch (behavior.kind) {
    case "healthy":
      return sendSuccess(run, behavior);
    case "slow_headers":
      if (await sleep(behavior.delayMs, run.signal)) await sendSuccess(run, {});
      return;
    case "slow_first_byte":
      return sendSuccess(run, { firstByteDelayMs: behavior.delayMs });
    case "status": {
      const body = behavior.body ?? detailBody(defaultStatusDetail(behavior.status, run.model, run.chuteId));
      return sendText(res, behavior.status, behavior.contentType ?? "application/json", body);
    }
    case "overloaded":
      return sendText(
        res,
        429,
        "application/json",
        detailBody(overloadDetail(behavior.reason ?? "infra_overload")),
      );
    case "html_429":
      return sendText(res, 429, "text/html", NGINX_429_HTML);
    case "reset_before_headers":
      run.onDrop();
      run.socket.resetAndDestroy();
      return;
    case "reset_mid_stream":
      await sendPartial(run, behavior.afterChunks);
      if (run.signal.aborted) return;
      // A FIN after the flushed bytes (not an RST, which may discard them): the client sees a truncated body.
      run.onDrop();
      run.socket.end();
      return;
    case "stall_mid_stream":
      await sendPartial(run, behavior.afterChunks);
      return waitForAbort(run.signal);
    case "empty_200":
      return sendText(res, 200, "application/json", "");
  }
}

function successHeaders(run: CompletionRun): Record<string, string> {
  const contentType = run.stream ? "text/event-stream; charset=utf-8" : "application/json";
  const headers: Record<string, string> = {
    "content-type": contentType,
    "x-chutes-invocationid": run.invocationId,
  };
  if (run.stream) headers["cache-control"] = "no-cache";
  return headers;
}

function usageOf(run: CompletionRun, chunks: number, extras: AnswerExtras = {}): Usage {
  return countUsage(run.requestBody, chunks, extraTokens(run.kind, extras));
}

/** The answer `options` script for this request: a continuation's when it asks for one. */
function renderSuccess(run: CompletionRun, options: SuccessOptions, chunks: number): RenderedAnswer {
  const { kind, model } = run;
  if (run.continueFrom !== null) {
    const mode = options.continuation ?? "continues";
    const answer = continuedAnswer(run.continueFrom, mode, chunks, options);
    const usage = continuationUsage(run.requestBody, answer);
    return renderContinuation(model, answer, usage, continuationStamp(run.invocationId));
  }
  const usage = usageOf(run, chunks, options);
  return {
    events: bodyChunks(kind, model, chunks, options),
    tail: streamTail(kind, model, usage, options),
    body: completionBody(kind, model, chunks, usage, options),
  };
}

async function sendSuccess(run: CompletionRun, options: SuccessOptions): Promise<void> {
  const { res, signal } = run;
  const firstByteDelayMs = options.firstByteDelayMs ?? 0;
  const answer = renderSuccess(run, options, options.chunks ?? DEFAULT_CHUNKS);
  if (!run.stream) {
    const body = JSON.stringify(answer.body);
    res.writeHead(200, { ...successHeaders(run), "content-length": Buffer.byteLength(body) });
    if (firstByteDelayMs > 0) {
      res.flushHeaders();
      if (!(await sleep(firstByteDelayMs, signal))) return;
    }
    res.end(body);
    return;
  }
  res.writeHead(200, successHeaders(run));
  res.flushHeaders();
  if (!(await sleep(firstByteDelayMs, signal))) return;
  // `intervalMs` separates every body event: reasoning words, content chunks and tool-call pieces alike.
  for (const [index, chunk] of answer.events.entries()) {
    if (index > 0 && !(await sleep(options.intervalMs ?? 0, signal))) return;
    res.write(toSseEvent(chunk));
  }
  res.end(answer.tail);
}

/**
 * Headers plus the first `afterChunks` content chunks, flushed. A non-streamed request gets the first half of
 * its JSON body instead (nothing when `afterChunks` is 0). A continuation sends the first `afterChunks` events
 * of its own stream, the role-only chunk being the first.
 */
async function sendPartial(run: CompletionRun, afterChunks: number): Promise<void> {
  const { res, kind, model } = run;
  res.writeHead(200, successHeaders(run));
  res.flushHeaders();
  let payload = "";
  if (run.continueFrom !== null) {
    payload = partialContinuation(run, run.continueFrom, afterChunks);
  } else if (run.stream) {
    for (let index = 0; index < afterChunks; index += 1)
      payload += toSseEvent(contentChunk(kind, model, index));
  } else if (afterChunks > 0) {
    const body = JSON.stringify(completionBody(kind, model, DEFAULT_CHUNKS, usageOf(run, DEFAULT_CHUNKS)));
    payload = body.slice(0, Math.floor(body.length / 2));
  }
  // An empty write still resolves once the headers are handed to the socket.
  await writeFlushed(res, payload, run.signal);
}

/**
 * A broken continuation: the first `afterChunks` events of its stream, or the first half of its JSON body. The
 * streamed answer is long enough that the break always comes before the finish chunk.
 */
function partialContinuation(run: CompletionRun, prefix: string, afterChunks: number): string {
  if (run.stream) {
    const chunks = Math.max(DEFAULT_CHUNKS, chunksSpanning(prefix) + afterChunks);
    const { events } = renderSuccess(run, {}, chunks);
    return events.slice(0, afterChunks).map(toSseEvent).join("");
  }
  if (afterChunks === 0) return "";
  const body = JSON.stringify(renderSuccess(run, {}, DEFAULT_CHUNKS).body);
  return body.slice(0, Math.floor(body.length / 2));
}
