// Tries the candidates in order until one commits or the failover table says stop (docs/contract.md §7).
// When to start which attempt is core/attempt-schedule.ts's pure decision; this file does the I/O it asks
// for. With hedging (§13, alias and list modes), when the one attempt in flight has had no first byte for
// `hedgeAfterMs`, the next candidate starts beside it: never more than two attempts in flight (the Workers
// limit is six connections per request), the first to commit wins, and the other is cancelled at once and
// recorded as `hedge_lost`. An engine's refusal of a request that does not fit the model (§16) is not the
// model's failure: the caller decides whether it moves on (alias and list) or passes back (direct), and which
// later candidates still fit once the engine has counted the prompt. Returns data: the committed stream's
// pieces, an upstream answer to pass on, or the router's own failure.

import { hasCandidateAfter, scheduleNext } from "../core/attempt-schedule.ts";
import { type EngineRefusal, refusalReason } from "../core/engine-refusal.ts";
import type { FailoverReason } from "../core/failover-policy.ts";
import { type Failure, finalFailureFor } from "../core/failure.ts";
import type { AttemptRecord, LimitFacts } from "../core/outcome.ts";
import { type AttemptVerdict, type CommittedAttempt, type RunningAttempt, startAttempt } from "./attempt.ts";
import { releasePart } from "./relay.ts";

export interface FailoverRequest {
  candidates: readonly string[];
  url: string;
  headers: Record<string, string>;
  /** The upstream request body for a candidate. */
  bodyFor: (model: string) => BodyInit;
  /** Whether a candidate still fits the request (judged anew after a refusal); default: every one. */
  fits?: (model: string) => boolean;
  /** The output an attempt on `model` asks for when it was lowered to fit, for the attempt's record. */
  maxTokensFor?: (model: string) => number | undefined;
  /**
   * An engine refused the request on `model`: whether to move on to the next candidate that fits, or to pass
   * the refusal back, and what it showed about the model. Default: pass it back.
   */
  onRefusal?: (model: string, refusal: EngineRefusal) => { moveOn: boolean; learned: LimitFacts | null };
  /** The answer when the last attempt was refused and nothing else is left: the request fits nowhere. */
  nothingFits?: () => Failure;
  headerTimeoutMs: number;
  firstByteTimeoutMs: number;
  /** Start one extra attempt when the one in flight has no first byte after this; 0 = never. */
  hedgeAfterMs: number;
  nowMs: () => number;
  /** Aborts when the client goes away (needs the `enable_request_signal` compatibility flag). */
  clientSignal?: AbortSignal;
}

export type FailoverResult =
  | { kind: "committed"; model: string; commit: CommittedAttempt; attempts: AttemptRecord[] }
  | { kind: "upstream_answer"; model: string; response: Response; attempts: AttemptRecord[] }
  | { kind: "failure"; failure: Failure; attempts: AttemptRecord[] };

/** The most attempts one request has in flight at once: the one being waited on, and its hedge. */
export const MAX_IN_FLIGHT = 2;

interface Running {
  model: string;
  startedMs: number;
  hedge: boolean;
  attempt: RunningAttempt;
  verdict: Promise<{ running: Running; verdict: AttemptVerdict }>;
}

export async function runFailover(request: FailoverRequest): Promise<FailoverResult> {
  const { candidates, hedgeAfterMs } = request;
  const fits = request.fits ?? (() => true);
  const attempts: AttemptRecord[] = [];
  const inFlight = new Set<Running>();
  let next = 0;
  let lastReason: FailoverReason = "upstream_connect_error";
  // The retryable answer of the attempt that failed last, kept when it may be passed on (docs/contract.md §7).
  let lastAnswer: { model: string; response: Response } | null = null;
  // Every attempt so far was refused as not fitting: nothing else went wrong that a retry could mend.
  let onlyRefused = true;

  const schedule = () => ({
    candidates,
    next,
    fits,
    inFlight: [...inFlight],
    hedgeAfterMs,
    maxInFlight: MAX_IN_FLIGHT,
  });
  const start = (index: number, hedge: boolean) => {
    next = index + 1;
    const model = candidates[index] as string;
    const attempt = startAttempt({
      url: request.url,
      headers: request.headers,
      body: request.bodyFor(model),
      headerTimeoutMs: request.headerTimeoutMs,
      firstByteTimeoutMs: request.firstByteTimeoutMs,
      isLastAttempt: !hasCandidateAfter({ candidates, fits }, index),
      clientSignal: request.clientSignal,
      contentGate: hedgeAfterMs > 0,
      refusalGate: request.onRefusal !== undefined,
    });
    const running = { model, startedMs: request.nowMs(), hedge, attempt } as Running;
    running.verdict = attempt.verdict.then((verdict) => ({ running, verdict }));
    inFlight.add(running);
  };
  const record = (running: Running, fields: Omit<AttemptRecord, "model" | "ms" | "hedge">) => {
    const maxTokens = request.maxTokensFor?.(running.model);
    attempts.push({
      model: running.model,
      ...fields,
      ms: request.nowMs() - running.startedMs,
      ...(running.hedge ? { hedge: true as const } : {}),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
    });
  };
  /** Cancels every attempt still in flight: they lost to `winner`, or the client left. */
  const cancelRest = (outcome: "hedge_lost" | "cancelled") => {
    for (const running of inFlight) {
      running.attempt.cancel(outcome);
      running.verdict.then(({ verdict }) => discard(verdict));
      record(running, { outcome, reason: null, status: null });
    }
    inFlight.clear();
  };

  for (;;) {
    const step = scheduleNext(schedule(), request.nowMs());
    if (step.kind === "done") break;
    if (step.kind === "start") {
      start(step.index, step.hedge);
      continue;
    }
    const settled = await nextVerdict(inFlight, step.hedgeAtMs, request.nowMs);
    if (settled === "hedge") continue;
    const { running, verdict } = settled;
    inFlight.delete(running);
    switch (verdict.kind) {
      case "cancelled":
        record(running, { outcome: "cancelled", reason: null, status: null });
        cancelRest("cancelled");
        return { kind: "failure", failure: { kind: "client_cancel" }, attempts };
      case "committed":
        record(running, { outcome: "committed", reason: null, status: verdict.response.status });
        cancelRest("hedge_lost");
        discardAnswer(lastAnswer);
        return { kind: "committed", model: running.model, commit: verdict, attempts };
      case "passthrough":
        record(running, { outcome: "passthrough", reason: null, status: verdict.response.status });
        cancelRest("hedge_lost");
        discardAnswer(lastAnswer);
        return { kind: "upstream_answer", model: running.model, response: verdict.response, attempts };
      case "refused": {
        const decision = request.onRefusal?.(running.model, verdict.refusal) ?? {
          moveOn: false,
          learned: null,
        };
        record(running, {
          outcome: "refused",
          reason: refusalReason(verdict.refusal.kind),
          status: verdict.status,
          ...(decision.learned ? { learned: decision.learned } : {}),
        });
        if (!decision.moveOn) {
          cancelRest("hedge_lost");
          discardAnswer(lastAnswer);
          return { kind: "upstream_answer", model: running.model, response: verdict.response, attempts };
        }
        verdict.response.body?.cancel().catch(() => {});
        break;
      }
      case "retryable":
        record(running, { outcome: "retryable", reason: verdict.reason, status: verdict.status });
        lastReason = verdict.reason;
        onlyRefused = false;
        discardAnswer(lastAnswer);
        lastAnswer = verdict.response ? { model: running.model, response: verdict.response } : null;
    }
  }
  if (lastAnswer) return { kind: "upstream_answer", ...lastAnswer, attempts };
  if (onlyRefused && attempts.length > 0 && request.nothingFits)
    return { kind: "failure", failure: request.nothingFits(), attempts };
  const failure = finalFailureFor(lastReason) ?? { kind: "upstream_failed", reason: lastReason };
  return { kind: "failure", failure, attempts };
}

/** The next attempt to reach a verdict, or "hedge" when `hedgeAtMs` comes first. */
async function nextVerdict(
  inFlight: ReadonlySet<Running>,
  hedgeAtMs: number | null,
  nowMs: () => number,
): Promise<{ running: Running; verdict: AttemptVerdict } | "hedge"> {
  const verdicts = [...inFlight].map((running) => running.verdict);
  if (hedgeAtMs === null) return Promise.race(verdicts);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hedgeDue = new Promise<"hedge">((resolve) => {
    timer = setTimeout(() => resolve("hedge"), Math.max(0, hedgeAtMs - nowMs()));
  });
  try {
    return await Promise.race([...verdicts, hedgeDue]);
  } finally {
    clearTimeout(timer);
  }
}

/** Releases whatever a verdict nobody will use still holds open. */
function discard(verdict: AttemptVerdict): void {
  if (verdict.kind === "committed") releasePart(verdict, "hedge_lost");
  else if (verdict.kind !== "cancelled") {
    verdict.response?.body?.cancel().catch(() => {});
  }
}

function discardAnswer(answer: { response: Response } | null): void {
  answer?.response.body?.cancel().catch(() => {});
}
