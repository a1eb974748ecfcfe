// Resuming a committed chat stream that broke mid-answer (docs/contract.md §19). For a request that can be
// continued, the pipeline gives the relay a splice (core/stream-splice.ts, which makes the parts read as one
// answer) and a continuation: when a part breaks, the continuation decides whether the answer can go on,
// and if so asks the next attempt to continue it: the original request with the text already sent as a final
// assistant message, `continue_final_message: true`, `add_generation_prompt: false`, and the output budget
// lowered by what was produced. The same model goes first (Chutes gives it another instance) unless it broke
// another answer a moment ago, which says the model is failing as a whole; then the plan's other candidates.
// Each break is noted in the trace (resumes_total, the log line, the record); the continuation's attempts join
// the trace's, so their usage is metered against the key like any attempt's.
import { isEventStream } from "../core/event-stream.ts";
import type { ResumeResult } from "../core/outcome.ts";
import { createStreamSplice, type StreamSplice } from "../core/stream-splice.ts";
import type { CommittedAttempt } from "../upstream/attempt.ts";
import { runFailover } from "../upstream/failover.ts";
import type { Continuation, UpstreamPart } from "../upstream/relay.ts";
import { upstreamBody, upstreamHeaders } from "./execute.ts";
import type { RoutePlan } from "./plan.ts";
import type { RoutingContext } from "./routing-context.ts";
import type { RoutingRequest, RoutingTrace } from "./routing-request.ts";

type Json = Record<string, unknown>;

/** Continuation candidates tried per break, before its first byte. */
const CANDIDATES_PER_RESUME = 3;

/**
 * The splice and continuation for a committed answer from `model`, or null when the request cannot be
 * continued (resuming is off, not a chat completion, more than one choice, a response format).
 */
export function resumeAnswer(
  ctx: RoutingContext,
  request: RoutingRequest,
  plan: RoutePlan,
  committed: { model: string; commit: CommittedAttempt },
  trace: RoutingTrace,
): { splice: StreamSplice; continueWith: Continuation } | null {
  const { max, deadlineMs } = ctx.config.resume;
  const continuation = request.profile.continuation;
  if (max === 0 || !continuation || request.upstreamPath !== "/v1/chat/completions") return null;
  if (!isEventStream(committed.commit.response.headers.get("content-type"))) return null;
  const splice = createStreamSplice({ stop: continuation.stop });
  const note = (noted: string, result: ResumeResult) => {
    trace.resumes ??= [];
    trace.resumes.push({ model: noted, result });
  };
  let answering = committed.model;
  let resumed = 0;
  // How often the answer broke on each model.
  const broke = new Map<string, number>();

  const continueWith: Continuation = async (_parts, why) => {
    const brokenModel = answering;
    const nowMs = ctx.now();
    const memory = ctx.isolate.resume;
    if (why?.kind === "restarted") {
      memory.markNotResumable(brokenModel, nowMs);
      note(brokenModel, "restarted");
      return null;
    }
    const failingModel = memory.noteBreak(brokenModel, nowMs);
    broke.set(brokenModel, (broke.get(brokenModel) ?? 0) + 1);
    if (request.clientSignal?.aborted) return null;
    const sent = splice.sent();
    if (resumed >= max || sent.toolCallSent || sent.phase === "reasoning" || sent.finishReason !== null) {
      note(brokenModel, "ineligible");
      return null;
    }
    // Nothing but the role chunk went out: the original request again, spliced in the same way.
    const prefix = sent.text === "" ? null : sent.text.trimEnd();
    const trimmed = prefix === null ? "" : sent.text.slice(prefix.length);
    const candidates = continuationCandidates(plan, brokenModel, failingModel, broke, (each) =>
      memory.resumable(each, nowMs),
    );
    if (candidates.length === 0) {
      note(brokenModel, "failed");
      return null;
    }
    const bodies = new Map<string, BodyInit>();
    for (const each of candidates) {
      const body = continuationBody(request, plan, each, prefix, sent.outputChunks);
      if (body !== null) bodies.set(each, body);
    }
    // The client's output budget is spent on every candidate: there is nothing left to continue with.
    if (bodies.size === 0) {
      note(brokenModel, "ineligible");
      return null;
    }
    const usable = candidates.filter((each) => bodies.has(each));
    const bodyFor = (each: string) => bodies.get(each) as BodyInit;
    const part = await startContinuation(ctx, request, usable, bodyFor, deadlineMs, trace);
    if (part === null) {
      note(brokenModel, "failed");
      return null;
    }
    resumed += 1;
    answering = part.model;
    note(part.model, "resumed");
    splice.continueFrom(prefix, trimmed);
    return part.commit;
  };

  return { splice, continueWith };
}

/**
 * Who is asked to continue: the model that broke first, unless it broke another answer a moment ago or this
 * one twice (the model is failing, not an instance), then the plan's other candidates, leaving out models
 * that restarted an answer they were asked to continue.
 */
function continuationCandidates(
  plan: Pick<RoutePlan, "candidates">,
  brokenModel: string,
  failingModel: boolean,
  broke: ReadonlyMap<string, number>,
  resumable: (model: string) => boolean,
): string[] {
  const others = plan.candidates.filter((each) => each !== brokenModel && (broke.get(each) ?? 0) < 2);
  const same = (broke.get(brokenModel) ?? 0) < 2 ? [brokenModel] : [];
  const order = failingModel ? [...others, ...same] : [...same, ...others];
  return order.filter(resumable).slice(0, CANDIDATES_PER_RESUME);
}

/**
 * The continuation request for `model`: the original (with the output that fits the model) plus, when text was
 * sent, that text as the final assistant message to continue, and an output budget lowered by the `produced`
 * tokens. Null when nothing is left of the budget.
 */
function continuationBody(
  request: RoutingRequest,
  plan: RoutePlan,
  model: string,
  prefix: string | null,
  produced: number,
): BodyInit | null {
  const body = JSON.parse(request.bodyFor(model, plan.maxTokens[model] ?? null).join("")) as Json;
  for (const field of ["max_completion_tokens", "max_tokens"]) {
    const limit = body[field];
    if (typeof limit !== "number") continue;
    if (limit - produced < 1) return null;
    body[field] = limit - produced;
  }
  if (prefix !== null) {
    const messages = Array.isArray(body.messages) ? body.messages : [];
    body.messages = [...messages, { role: "assistant", content: prefix }];
    body.continue_final_message = true;
    body.add_generation_prompt = false;
  }
  body.stream = true;
  body.stream_options = {
    ...(isObject(body.stream_options) ? body.stream_options : {}),
    include_usage: true,
  };
  return upstreamBody([JSON.stringify(body)]);
}

/**
 * Runs the continuation's attempts like any request's (failover before its first byte, no hedging) within
 * RESUME_DEADLINE_MS of the break; their records join the trace. The committed part, or null.
 */
async function startContinuation(
  ctx: RoutingContext,
  request: RoutingRequest,
  candidates: string[],
  bodyFor: (model: string) => BodyInit,
  deadlineMs: number,
  trace: RoutingTrace,
): Promise<{ model: string; commit: UpstreamPart } | null> {
  const { upstream } = ctx.config;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort("resume_deadline"), deadlineMs);
  const onClientGone = () => deadline.abort("client_cancel");
  request.clientSignal?.addEventListener("abort", onClientGone, { once: true });
  try {
    const result = await runFailover({
      candidates,
      url: `${upstream.baseUrl}${request.upstreamPath}`,
      headers: upstreamHeaders(ctx, request),
      bodyFor,
      headerTimeoutMs: Math.min(upstream.headerTimeoutMs, deadlineMs),
      firstByteTimeoutMs: Math.min(upstream.firstByteTimeoutMs, deadlineMs),
      hedgeAfterMs: 0,
      nowMs: ctx.now,
      clientSignal: deadline.signal,
    });
    trace.attempts.push(...result.attempts);
    if (result.kind === "committed") return { model: result.model, commit: result.commit };
    if (result.kind === "upstream_answer") result.response.body?.cancel().catch(() => {});
    return null;
  } finally {
    clearTimeout(timer);
    request.clientSignal?.removeEventListener("abort", onClientGone);
  }
}

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
