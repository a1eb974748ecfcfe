// The capture side of recording (docs/contract.md §17). A routed request gets a Recording when its level is not
// `off`: it subscribes to the answer's events as the relay passes them (text, reasoning, tool calls), and when
// the request's log line is written it builds the record and, under waitUntil, redacts and splits the bodies
// and enqueues the lot. Nothing here runs before the client's bytes go out or between its chunks: the client's
// time to first byte and its stream are untouched. The Queue's consumer (state/records-store.ts) stores it.
import type { Config } from "../config.ts";
import { answerFromJson, createContentAccumulator } from "../core/answer-content.ts";
import {
  type BodiesKept,
  type Protocol,
  type RecordingLevel,
  type RequestRecord,
  splitBody,
} from "../core/record.ts";
import { createRedactor, type RedactionCounts, type Redactor } from "../core/redact.ts";
import type { RequestLog } from "../core/request-log.ts";
import type { TraceContext } from "../core/trace-context.ts";
import { QUEUE_MESSAGE_BYTES, type RecordMessage, spillKey } from "../state/records-store.ts";
import type { RelaySubscriber } from "../upstream/relay.ts";
import type { RoutingContext } from "./routing-context.ts";
import type { RoutingResult } from "./routing-request.ts";

/** The most of a whole (JSON) answer kept for its content. */
const JSON_ANSWER_CAP_BYTES = 4 * 1024 * 1024;

export interface RecordingInput {
  level: Exclude<RecordingLevel, "off">;
  protocol: Protocol;
  route: string;
  requestId: string;
  trace: TraceContext;
  /** The client's body, when the level keeps bodies. */
  rawBody: string | null;
  requestedModel: string | null;
  keyId: string | null;
  /** The client's own session (Claude Code's), when it named one. */
  session: string | null;
  /** The client's key, hashed into a session id when it named no session; never stored. */
  credential: string | null;
}

export interface Recording {
  /** Sees the answer as it passes, when bodies are kept. */
  subscriber: RelaySubscriber | null;
  /** The routing result, once there is one (its trace carries the usage after settling). */
  result: RoutingResult | null;
  /** Called with the request's log line when it is written: the record goes out under waitUntil. */
  written(line: RequestLog): void;
}

const redactors = new WeakMap<object, Promise<Redactor>>();

/** One redactor per config (per isolate): the HMAC key is imported once. */
function redactorFor(recording: Config["recording"]): Promise<Redactor> {
  const known = redactors.get(recording);
  if (known) return known;
  const made = createRedactor(recording.redactionKey ?? "", recording.redact);
  redactors.set(recording, made);
  // A failed import is retried on the next request rather than kept.
  made.catch(() => redactors.delete(recording));
  return made;
}

export function startRecording(ctx: RoutingContext, input: RecordingInput): Recording {
  const keepsBodies = input.level !== "metadata";
  const content = keepsBodies ? createContentAccumulator() : null;
  const jsonChunks: Uint8Array[] = [];
  let jsonBytes = 0;
  const subscriber: RelaySubscriber | null = content
    ? {
        onEvents: (events) => content.onEvents(events),
        onBytes: (chunk) => {
          if (jsonBytes + chunk.byteLength > JSON_ANSWER_CAP_BYTES) return;
          jsonChunks.push(chunk);
          jsonBytes += chunk.byteLength;
        },
      }
    : null;
  const recording: Recording = {
    subscriber,
    result: null,
    written(line) {
      const answer = () => {
        if (!content) return null;
        if (jsonChunks.length === 0) return content.snapshot();
        return answerFromJson(new TextDecoder().decode(concatBytes(jsonChunks)));
      };
      const committed = recording.result?.kind === "committed";
      ctx.waitUntil(
        produce(ctx, input, line, recording.result, committed ? answer : () => null).catch((error: unknown) =>
          console.warn(
            JSON.stringify({
              event: "record_lost",
              requestId: input.requestId,
              message: error instanceof Error ? error.message : String(error),
            }),
          ),
        ),
      );
    },
  };
  return recording;
}

function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

async function sessionOf(ctx: RoutingContext, input: RecordingInput): Promise<string | null> {
  if (input.session) return input.session;
  if (!input.credential) return null;
  const token = input.credential.replace(/^bearer\s+/i, "").trim();
  return token === "" ? null : `key:${(await ctx.isolate.hashes.of(token)).slice(0, 16)}`;
}

/** Builds the record and its body, and enqueues them (spilling to R2 what the Queue cannot carry). */
async function produce(
  ctx: RoutingContext,
  input: RecordingInput,
  line: RequestLog,
  result: RoutingResult | null,
  answer: () => ReturnType<typeof answerFromJson>,
): Promise<void> {
  const usage = result?.trace.usage ?? null;
  const record: RequestRecord = {
    id: input.requestId,
    timeMs: ctx.startedMs,
    traceId: input.trace.traceId,
    keyId: input.keyId,
    session: await sessionOf(ctx, input),
    protocol: input.protocol,
    route: input.route,
    requestedModel: input.requestedModel,
    mode: line.mode,
    attempts: line.attempts,
    selected: line.selected,
    status: line.status,
    streamEnd: line.streamEnd,
    ttfbMs: line.ttfbMs,
    durationMs: line.durationMs,
    usage: usage
      ? {
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          estimated: usage.estimated,
        }
      : null,
    costUsd: usage ? usage.usd : null,
    errorCode: line.errorCode,
    level: input.level,
    bodies: "none",
    redactions: {},
  };
  const message: RecordMessage = { record };
  if (input.level !== "metadata") {
    const kept = await keptBody(ctx, input, answer());
    record.bodies = kept.bodies;
    record.redactions = kept.redactions;
    if (kept.body) message.body = await splitBody(kept.body.request, kept.body.answer);
  }
  await enqueue(ctx, message);
}

async function keptBody(
  ctx: RoutingContext,
  input: RecordingInput,
  answer: ReturnType<typeof answerFromJson>,
): Promise<{
  bodies: BodiesKept;
  redactions: RedactionCounts;
  body: { request: unknown; answer: ReturnType<typeof answerFromJson> } | null;
}> {
  let request: unknown;
  try {
    if (input.rawBody === null) throw new Error("no body");
    request = JSON.parse(input.rawBody);
  } catch {
    return { bodies: "none", redactions: {}, body: null };
  }
  if (input.level === "full") return { bodies: "kept", redactions: {}, body: { request, answer } };
  // Redacted: any failure keeps no body at all (fail closed).
  const redactions: RedactionCounts = {};
  try {
    const redactor = await redactorFor(ctx.config.recording);
    const body = {
      request: await redactor.json(request, redactions),
      answer: await redactor.json(answer, redactions),
    };
    return { bodies: "kept", redactions, body };
  } catch {
    return { bodies: "redaction_failed", redactions: {}, body: null };
  }
}

const encoder = new TextEncoder();

/** Hands the record to this isolate's record queue, spilling to R2 first what the Queue cannot carry. */
async function enqueue(ctx: RoutingContext, message: RecordMessage): Promise<void> {
  const text = JSON.stringify(message);
  const bytes = encoder.encode(text).byteLength;
  if (bytes <= QUEUE_MESSAGE_BYTES) {
    ctx.isolate.records.enqueue(ctx.waitUntil, message, bytes);
    return;
  }
  const key = spillKey(message.record.id);
  await ctx.env.RECORDS_BUCKET.put(key, text);
  ctx.isolate.records.enqueue(ctx.waitUntil, { spill: key, id: message.record.id }, 200);
}
