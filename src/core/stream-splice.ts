// One answer across attempts (docs/contract.md §19): a chat stream that breaks mid-answer continues on another
// attempt, and the client must see one answer. This is the splice the relay runs every upstream event through
// when a request can be resumed. Pure.
//
// - The first part passes through untouched (the client's bytes are the upstream's). It is only watched: an
//   in-band server error or a `finish_reason: "abort"` chunk is held back and reported as a break, so the
//   client never sees it; the events sent are kept (read only when a break needs them) to tell what the client
//   has: its text, whether a tool call went out, whether the answer is in its reasoning or its content.
// - A continuation part (`continueFrom`) is rewritten into the first: its role chunk goes, every chunk takes
//   the first stream's `id`, `created`, `model` and `system_fingerprint`; the whitespace the prefix was sent
//   without is not repeated; reasoning after a cut in the content is content (an R1-style parser reads a
//   prefilled answer as thinking); a stop sequence that spans the seam ends the answer there; the usage becomes
//   the answer's (prompt tokens of the original, completion tokens of both parts).
// - A continuation is held back until it has said enough to judge: one that starts the answer over (it ignored
//   the prefix) is never spliced in, and is reported.
import { SseEvent } from "./event-stream.ts";

type Json = Record<string, unknown>;

export interface SpliceOptions {
  /** The request's stop sequences, which the engine cannot see across the seam. */
  stop: readonly string[];
}

/** What the client has of the answer, read from the events it was sent. */
export interface SentAnswer {
  text: string;
  reasoning: string;
  /** A tool call went out: arguments cannot be taken back, so the answer cannot be continued. */
  toolCallSent: boolean;
  /** Where the answer was when it broke: in its reasoning, its content, or nowhere yet. */
  phase: "none" | "reasoning" | "content";
  /** Content chunks sent: the tokens of the text so far, as engines stream one token per chunk. */
  contentChunks: number;
  /** Chunks of content or reasoning sent: the output tokens spent so far. */
  outputChunks: number;
  finishReason: string | null;
}

export type SpliceVerdict =
  /** Go on. */
  | { kind: "pass" }
  /** The part failed in-band (a server-class error event, or an aborted finish): end it as broken. */
  | { kind: "broke"; message: string }
  /** The continuation started the answer over: never spliced in; the answer ends as broken. */
  | { kind: "restarted" }
  /** A stop sequence across the seam ended the answer: the events close it; the part can be let go. */
  | { kind: "stopped" };

export interface StreamSplice {
  /** The current part's next whole events, as the client should get them, and what they showed. */
  take(events: readonly SseEvent[]): { events: readonly SseEvent[]; verdict: SpliceVerdict };
  /** The current part's body ended cleanly: what was held back, and whether it ended as answers end. */
  end(): { events: SseEvent[]; whole: boolean };
  /** What the client has of the answer so far. */
  sent(): SentAnswer;
  /**
   * The next part continues the answer: its request sent `prefix` (the text sent, without its trailing
   * whitespace `trimmed`) as the final assistant message, or null when it asks the original request again
   * (nothing but the role chunk had gone out).
   */
  continueFrom(prefix: string | null, trimmed: string): void;
}

const PREFIX_DATA = new TextEncoder().encode("data:");
/** Continuation text held back before it is judged (restart check). */
const JUDGE_CHARS = 32;
/** A continuation whose first words (this many at most, at least two) are the answer's started it over. */
const JUDGE_WORDS = 4;
/** Without two words to compare, a continuation starting with the answer's first this many characters did. */
const JUDGE_MIN_CHARS = 8;
/** Events kept unread past this many bytes are read and dropped (long answers), so memory stays bounded. */
const FOLD_BYTES = 256 * 1024;
/** A stream's finish, usage and `[DONE]` come last: the data events kept to tell how it ended. */
const RECENT_EVENTS = 4;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const nonEmpty = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? value : null;

export function createStreamSplice(options: SpliceOptions): StreamSplice {
  const maxStop = Math.max(0, ...options.stop.map((stop) => stop.length));
  // What the client was sent: events not yet read, and what the read ones said.
  let unread: SseEvent[] = [];
  let unreadBytes = 0;
  const sent: SentAnswer = {
    text: "",
    reasoning: "",
    toolCallSent: false,
    phase: "none",
    contentChunks: 0,
    outputChunks: 0,
    finishReason: null,
  };
  let first: Json | null = null;
  // The first part's last few data events: how it ended is read from them, only when it ends.
  let recent: string[] = [];
  let sawDone = false;
  let sawFinish = false;
  // The continuation in progress, null while the first part streams.
  let cont: Continuation | null = null;

  interface Continuation {
    prefix: string | null;
    /** Leading whitespace still to drop (what the prefix was sent without). */
    dropWhitespace: number;
    /** The text already sent before the seam, for stop sequences that span it. */
    tail: string;
    /** Content of this part so far (after the whitespace dropped), for the seam checks. */
    seen: string;
    /** Events held until the continuation is judged; null once it was. */
    held: SseEvent[] | null;
    /** Content chunks sent before this part, to fold into its usage. */
    chunksBefore: number;
    /** Reasoning goes into the content: the cut was in the content. */
    reasoningIsContent: boolean;
    stopped: boolean;
  }

  function read(event: SseEvent): void {
    const data = event.data?.trim();
    if (!data || data === "[DONE]") return;
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(chunk) || !Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) {
      if (!isObject(choice) || (choice.index ?? 0) !== 0) continue;
      const delta = isObject(choice.delta) ? choice.delta : {};
      const reasoning = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
      if (reasoning !== null) {
        sent.reasoning += reasoning;
        sent.phase = "reasoning";
      }
      const content = nonEmpty(delta.content);
      if (content !== null) {
        sent.text += content;
        sent.phase = "content";
        sent.contentChunks += 1;
      }
      if (reasoning !== null || content !== null) sent.outputChunks += 1;
      if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) sent.toolCallSent = true;
      if (typeof choice.finish_reason === "string") sent.finishReason = choice.finish_reason;
    }
  }

  function keep(events: readonly SseEvent[]): void {
    for (const event of events) {
      unread.push(event);
      unreadBytes += event.raw.byteLength;
    }
    if (unreadBytes > FOLD_BYTES) fold();
  }

  function fold(): void {
    for (const event of unread) read(event);
    unread = [];
    unreadBytes = 0;
  }

  /** A server-class failure in an event (a 4xx-class one is the client's and passes as the upstream sent it). */
  function failureIn(event: SseEvent): string | null {
    if (!looksLikeError(event)) return null;
    const data = event.data?.trim() ?? "";
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return null;
    }
    if (!isObject(payload)) return null;
    const error = isObject(payload.error) ? payload.error : payload.object === "error" ? payload : null;
    if (error === null && typeof payload.error === "string") return payload.error;
    if (error === null) return null;
    const code = Number(error.code ?? error.status);
    if (Number.isFinite(code) && code >= 400 && code < 500) return null;
    return nonEmpty(error.message) ?? "The upstream stream failed";
  }

  /** Watches one event of the first part; returns why it broke the part, if it did. */
  function watch(event: SseEvent): string | null {
    const data = event.data;
    if (data === null) return null;
    if (first === null && data.includes('"choices"')) {
      try {
        const chunk: unknown = JSON.parse(data);
        if (isObject(chunk)) first = chunk;
      } catch {
        // Not JSON: the next one may be.
      }
    }
    const failure = failureIn(event);
    if (failure !== null) return failure;
    if (data.includes('"finish_reason":"abort"') || data.includes('"finish_reason": "abort"'))
      return "The upstream aborted the answer";
    recent.push(data);
    if (recent.length > RECENT_EVENTS) recent.shift();
    return null;
  }

  /** Whether the first part's last events hold a finish or `[DONE]`. */
  function endedWhole(): boolean {
    return recent.some((data) => data.trim() === "[DONE]" || /"finish_reason"\s*:\s*"/.test(data));
  }

  /** A chunk of the continuation rewritten as a chunk of the first stream. */
  function asFirst(chunk: Json): SseEvent {
    if (first !== null) {
      for (const field of ["id", "created", "model", "system_fingerprint"]) {
        if (field in first) chunk[field] = first[field];
        else delete chunk[field];
      }
    }
    return new SseEvent(encode(`data: ${JSON.stringify(chunk)}\n\n`), true);
  }

  /** One continuation event as the client should get it (none, or a rewritten one), and what it showed. */
  function rewrite(event: SseEvent, c: Continuation): { out: SseEvent[]; verdict: SpliceVerdict } {
    const data = event.data?.trim();
    if (data === undefined || data === "") return { out: [], verdict: { kind: "pass" } };
    if (data === "[DONE]") {
      sawDone = true;
      return { out: [event], verdict: { kind: "pass" } };
    }
    const failure = failureIn(event);
    if (failure !== null) return { out: [], verdict: { kind: "broke", message: failure } };
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return { out: [event], verdict: { kind: "pass" } };
    }
    if (!isObject(chunk)) return { out: [event], verdict: { kind: "pass" } };
    if (isObject(chunk.usage)) chunk.usage = answerUsage(chunk.usage, c.chunksBefore);
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    const choice = choices.find((each) => isObject(each) && (each.index ?? 0) === 0);
    if (!isObject(choice)) return { out: [asFirst(chunk)], verdict: { kind: "pass" } };
    const delta = isObject(choice.delta) ? choice.delta : {};
    if (choice.finish_reason === "abort")
      return { out: [], verdict: { kind: "broke", message: "The upstream aborted the answer" } };
    if (typeof choice.finish_reason === "string") sawFinish = true;
    if (c.reasoningIsContent) {
      const reasoning = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning);
      delete delta.reasoning_content;
      delete delta.reasoning;
      if (reasoning !== null)
        delta.content = `${typeof delta.content === "string" ? delta.content : ""}${reasoning}`;
    }
    delete delta.role;
    let content = typeof delta.content === "string" ? delta.content : "";
    if (c.dropWhitespace > 0 && content !== "") {
      const leading = content.length - content.trimStart().length;
      const dropped = Math.min(leading, c.dropWhitespace);
      content = content.slice(dropped);
      // Whitespace, then text: nothing more to drop. Whitespace only: drop on in the next chunk.
      c.dropWhitespace = content === "" ? c.dropWhitespace - dropped : 0;
    }
    if (content !== "" && maxStop > 0 && c.seen.length < maxStop) {
      const window = c.tail + c.seen + content;
      const at = options.stop
        .map((stop) => window.indexOf(stop))
        .filter((index) => index !== -1 && index < c.tail.length)
        .sort((a, b) => a - b)[0];
      if (at !== undefined) {
        c.stopped = true;
        const finish = asFirst({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
        return { out: [finish, dataEvent("[DONE]")], verdict: { kind: "stopped" } };
      }
    }
    c.seen += content;
    if (typeof delta.content === "string") delta.content = content;
    const empty =
      content === "" &&
      !Array.isArray(delta.tool_calls) &&
      nonEmpty(delta.reasoning_content) === null &&
      nonEmpty(delta.reasoning) === null &&
      typeof choice.finish_reason !== "string" &&
      !isObject(chunk.usage);
    // The continuation's role chunk, and chunks the seam emptied.
    if (empty) return { out: [], verdict: { kind: "pass" } };
    if (content === "" && typeof delta.content === "string") delete delta.content;
    return { out: [asFirst(chunk)], verdict: { kind: "pass" } };
  }

  /**
   * Whether the held continuation starts the answer over; called once it said enough (or ended). A restart is a
   * new sample, so it is told by its first words (case and punctuation aside), not by its exact characters;
   * text without spaces between words (CJK) is told by its first characters.
   */
  function restarted(c: Continuation): boolean {
    if (c.prefix === null) return false;
    const answer = words(sent.text);
    const said = words(c.seen);
    const count = Math.min(JUDGE_WORDS, answer.length, said.length);
    if (count >= 2) return answer.slice(0, count).join(" ") === said.slice(0, count).join(" ");
    const head = sent.text.trimStart().slice(0, JUDGE_MIN_CHARS);
    return head.length === JUDGE_MIN_CHARS && c.seen.trimStart().startsWith(head);
  }

  /** Releases the held continuation once judged; the events to send now and the verdict. */
  function judge(c: Continuation, force: boolean): { events: SseEvent[]; verdict: SpliceVerdict } {
    const held = c.held ?? [];
    if (c.held === null) return { events: [], verdict: { kind: "pass" } };
    if (!force && c.seen.trimStart().length < JUDGE_CHARS) return { events: [], verdict: { kind: "pass" } };
    c.held = null;
    if (restarted(c)) return { events: [], verdict: { kind: "restarted" } };
    keep(held);
    return { events: held, verdict: { kind: "pass" } };
  }

  return {
    take(events) {
      if (cont === null) {
        for (const [index, event] of events.entries()) {
          const failure = watch(event);
          if (failure === null) continue;
          const before = events.slice(0, index);
          keep(before);
          return { events: before, verdict: { kind: "broke", message: failure } };
        }
        keep(events);
        // The first part passes as it came: nothing is copied on the way.
        return { events, verdict: { kind: "pass" } };
      }
      const c = cont;
      const out: SseEvent[] = [];
      for (const event of events) {
        if (c.stopped) break;
        const { out: rewritten, verdict } = rewrite(event, c);
        if (verdict.kind === "broke") {
          const released = judge(c, true);
          if (released.verdict.kind !== "pass") return released;
          return { events: [...out, ...released.events], verdict };
        }
        if (c.held !== null) {
          c.held.push(...rewritten);
          // A finish, a tool call or the usage means the continuation has said what it will say up front.
          const decisive = verdict.kind === "stopped" || rewritten.some((each) => !isPlainContent(each));
          const released = judge(c, decisive);
          if (released.verdict.kind !== "pass") return released;
          out.push(...released.events);
        } else {
          keep(rewritten);
          out.push(...rewritten);
        }
        if (verdict.kind === "stopped") return { events: out, verdict };
      }
      return { events: out, verdict: { kind: "pass" } };
    },
    end() {
      if (cont === null) return { events: [], whole: endedWhole() };
      const whole = sawDone || sawFinish;
      const released = judge(cont, true);
      if (released.verdict.kind === "restarted") return { events: [], whole: false };
      return { events: released.events, whole };
    },
    sent() {
      fold();
      return { ...sent };
    },
    continueFrom(prefix, trimmed) {
      fold();
      recent = [];
      sawDone = false;
      sawFinish = false;
      cont = {
        prefix,
        dropWhitespace: prefix === null ? 0 : trimmed.length,
        tail: maxStop > 1 ? sent.text.slice(-(maxStop - 1)) : "",
        seen: "",
        held: prefix === null ? null : [],
        chunksBefore: sent.contentChunks,
        reasoningIsContent: prefix !== null,
        stopped: false,
      };
    },
  };
}

/** The answer's usage from the continuation's: its prompt without the prefix it re-read, both parts' output. */
function answerUsage(usage: Json, chunksBefore: number): Json {
  const prompt = typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : null;
  const completion = typeof usage.completion_tokens === "number" ? usage.completion_tokens : null;
  if (prompt === null || completion === null) return usage;
  const promptTokens = Math.max(0, prompt - chunksBefore);
  const completionTokens = completion + chunksBefore;
  return {
    ...usage,
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** Whether a rewritten event is a plain content chunk (no finish, tool call or usage). */
function isPlainContent(event: SseEvent): boolean {
  const data = event.data ?? "";
  return (
    !data.includes('"finish_reason":"') &&
    !data.includes('"tool_calls"') &&
    !data.includes('"usage"') &&
    data.trim() !== "[DONE]"
  );
}

/** Whether an event may be an error: its data starts with `{"error"` or `{"object"` (read only then). */
function looksLikeError(event: SseEvent): boolean {
  const raw = event.raw;
  for (let i = 0; i < PREFIX_DATA.length; i++) if (raw[i] !== PREFIX_DATA[i]) return false;
  let at = PREFIX_DATA.length;
  while (raw[at] === 0x20) at++;
  if (raw[at] !== 0x7b) return false;
  at++;
  while (raw[at] === 0x20) at++;
  // `"e` of "error", `"o` of "object".
  return raw[at] === 0x22 && (raw[at + 1] === 0x65 || raw[at + 1] === 0x6f);
}

/** A text's words, lowercased and without punctuation. */
function words(text: string): string[] {
  return text
    .trim()
    .split(/\s+/)
    .map((word) => word.toLowerCase().replace(/[^\p{L}\p{N}]/gu, ""))
    .filter((word) => word !== "");
}

const encoder = new TextEncoder();
const encode = (text: string) => encoder.encode(text);
const dataEvent = (data: string) => new SseEvent(encode(`data: ${data}\n\n`), true);
