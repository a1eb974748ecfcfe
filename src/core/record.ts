// What the router keeps of a request it routed (docs/contract.md §17): the level it records at, the record's
// fields, and how a body is stored so that a session's repeated history is kept once. Pure: the capture
// (protocols/recording.ts) and the store (state/records-store.ts) run on the runtime around it.
//
// A client body is split into a skeleton and blobs: every message, the system prompt and the tool list are
// replaced by a reference to the SHA-256 of their JSON text, and stored under it once per session. An agent
// that resends its whole history every turn therefore adds only what is new to storage, and the body is
// rebuilt exactly by putting the blobs back.
import type { AnswerContent } from "./answer-content.ts";
import type { AttemptRecord, StreamEnd } from "./outcome.ts";

export const RECORDING_LEVELS = ["off", "metadata", "redacted", "full"] as const;
export type RecordingLevel = (typeof RECORDING_LEVELS)[number];
/** The header a client lowers its own recording level with (never raises it). */
export const RECORD_HEADER = "x-chutes-autopilot-record";

export function isRecordingLevel(value: unknown): value is RecordingLevel {
  return typeof value === "string" && (RECORDING_LEVELS as readonly string[]).includes(value);
}

/**
 * The level a request is recorded at: the key's own level when it has one, else the router's, lowered (never
 * raised) by the client's header. Null when the header is not a level, which the route refuses.
 */
export function effectiveLevel(
  configured: RecordingLevel,
  keyLevel: RecordingLevel | null | undefined,
  header: string | null,
): RecordingLevel | null {
  const base = keyLevel ?? configured;
  if (header === null) return base;
  const asked = header.trim().toLowerCase();
  if (!isRecordingLevel(asked)) return null;
  return RECORDING_LEVELS.indexOf(asked) < RECORDING_LEVELS.indexOf(base) ? asked : base;
}

export type Protocol = "openai.chat" | "openai.completions" | "openai.responses" | "anthropic.messages";

/** Whether a record's bodies were kept, and if not, why. */
export type BodiesKept = "kept" | "none" | "redaction_failed";

export interface RecordUsage {
  promptTokens: number;
  completionTokens: number;
  /** Some of it was estimated (the upstream sent no usage). */
  estimated: boolean;
}

/** One routed request, as the index keeps it. Plain data: it crosses the Queue as JSON. */
export interface RequestRecord {
  /** The response's x-request-id. */
  id: string;
  timeMs: number;
  traceId: string;
  keyId: string | null;
  /** A Claude Code session, else a hash of the client's key; null for clients known only by address. */
  session: string | null;
  protocol: Protocol;
  route: string;
  requestedModel: string | null;
  mode: "alias" | "list" | "direct" | null;
  attempts: AttemptRecord[];
  selected: string | null;
  status: number;
  streamEnd: StreamEnd | null;
  ttfbMs: number | null;
  durationMs: number;
  usage: RecordUsage | null;
  costUsd: number | null;
  errorCode: string | null;
  level: Exclude<RecordingLevel, "off">;
  bodies: BodiesKept;
  /** What redaction replaced, by kind. */
  redactions: Record<string, number>;
}

/** A blob reference in a stored skeleton. */
export interface BlobRef {
  $blob: string;
}

/** A body as stored: the skeleton, what the router answered, and the blobs the skeleton points to. */
export interface StoredBody {
  request: unknown;
  answer: AnswerContent | null;
}

export interface SplitBody {
  stored: StoredBody;
  /** Each blob's hash and JSON text, in the order the body holds them (no repeats). */
  blobs: Array<[hash: string, text: string]>;
}

/** The fields whose values are stored as blobs. */
const BLOB_FIELDS = ["system", "instructions", "tools"] as const;
/** The fields whose items are stored as blobs: chat and Anthropic `messages`, Responses `input` items. */
const ITEM_FIELDS = ["messages", "input"] as const;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let hex = "";
  for (const byte of digest) hex += HEX[byte];
  return hex;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Splits a client body (parsed JSON) into its skeleton and the blobs a session keeps once. */
export async function splitBody(request: unknown, answer: AnswerContent | null): Promise<SplitBody> {
  const blobs = new Map<string, string>();
  const toRef = async (value: unknown): Promise<BlobRef> => {
    const text = JSON.stringify(value);
    const hash = await sha256Hex(text);
    blobs.set(hash, text);
    return { $blob: hash };
  };
  if (!isObject(request)) return { stored: { request, answer }, blobs: [] };
  const skeleton: Json = { ...request };
  for (const field of ITEM_FIELDS) {
    const items = request[field];
    if (Array.isArray(items)) skeleton[field] = await Promise.all(items.map(toRef));
  }
  for (const field of BLOB_FIELDS)
    if (request[field] !== undefined && request[field] !== null)
      skeleton[field] = await toRef(request[field]);
  return { stored: { request: skeleton, answer }, blobs: [...blobs] };
}

const isRef = (value: unknown): value is BlobRef =>
  isObject(value) && typeof value.$blob === "string" && Object.keys(value).length === 1;

/** Every blob hash a stored skeleton points to, in order, repeats included. */
export function blobHashes(skeleton: unknown): string[] {
  if (!isObject(skeleton)) return [];
  const hashes: string[] = [];
  for (const field of ITEM_FIELDS) {
    const items = skeleton[field];
    if (Array.isArray(items)) for (const item of items) if (isRef(item)) hashes.push(item.$blob);
  }
  for (const field of BLOB_FIELDS) {
    const value = skeleton[field];
    if (isRef(value)) hashes.push(value.$blob);
  }
  return hashes;
}

/** The client body back from its skeleton; a blob that is gone reads as null. */
export function rebuildBody(skeleton: unknown, blob: (hash: string) => unknown): unknown {
  if (!isObject(skeleton)) return skeleton;
  const body: Json = { ...skeleton };
  const resolve = (value: unknown) => (isRef(value) ? (blob(value.$blob) ?? null) : value);
  for (const field of ITEM_FIELDS) {
    const items = skeleton[field];
    if (Array.isArray(items)) body[field] = items.map(resolve);
  }
  for (const field of BLOB_FIELDS) if (skeleton[field] !== undefined) body[field] = resolve(skeleton[field]);
  return body;
}
