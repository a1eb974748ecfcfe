// A session's records as a conversation (docs/contract.md §17, GET /admin/sessions/{id}): each turn is one
// request in order, with what it added to the conversation (the messages after those it shares with the turn
// before: the previous answer as the client echoed it, and the new prompt), the model that answered, its usage
// and cost, and the answer. The conversation is the last turn's messages and its answer.

/** What a turn is made from: a record as the admin API shows it, with its bodies when kept. */
export interface TurnSource {
  id: string;
  time: string;
  selected_model: string | null;
  status: number;
  usage: { prompt_tokens: number; completion_tokens: number; estimated: boolean } | null;
  cost_usd: number | null;
  request?: unknown;
  answer?: unknown;
}

export interface Turn {
  record_id: string;
  time: string;
  model: string | null;
  status: number;
  usage: TurnSource["usage"];
  cost_usd: number | null;
  /** What this turn's request added after the messages it shares with the turn before; null without a body. */
  new_messages: unknown[] | null;
  answer: unknown;
}

export interface SessionTurns {
  turns: Turn[];
  /** The system prompt of the last turn that had one (Anthropic's `system`, Responses' `instructions`; chat's
   * is a message). */
  system: unknown;
  /** The conversation as its last recorded turn holds it: its request's messages, then its answer. */
  messages: unknown[] | null;
  answer: unknown;
  totals: { requests: number; prompt_tokens: number; completion_tokens: number; cost_usd: number };
}

/** A request's conversation: chat and Anthropic `messages`, or Responses `input` items. */
function messagesOf(request: unknown): unknown[] | null {
  if (typeof request !== "object" || request === null) return null;
  const { messages, input } = request as { messages?: unknown; input?: unknown };
  if (Array.isArray(messages)) return messages;
  return Array.isArray(input) ? input : null;
}

/** How many messages two requests share from the start. */
function sharedPrefix(before: readonly unknown[], after: readonly unknown[]): number {
  let shared = 0;
  while (
    shared < before.length &&
    shared < after.length &&
    JSON.stringify(before[shared]) === JSON.stringify(after[shared])
  )
    shared += 1;
  return shared;
}

export function sessionTurns(records: readonly TurnSource[]): SessionTurns {
  const turns: Turn[] = [];
  const totals = { requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 };
  let previous: unknown[] = [];
  let last: { messages: unknown[] | null; answer: unknown } = { messages: null, answer: null };
  let system: unknown = null;
  for (const record of records) {
    const messages = messagesOf(record.request);
    const added = messages ? messages.slice(sharedPrefix(previous, messages)) : null;
    if (messages) previous = messages;
    turns.push({
      record_id: record.id,
      time: record.time,
      model: record.selected_model,
      status: record.status,
      usage: record.usage,
      cost_usd: record.cost_usd,
      new_messages: added,
      answer: record.answer ?? null,
    });
    if (messages) last = { messages, answer: record.answer ?? null };
    const fields = record.request as { system?: unknown; instructions?: unknown } | undefined;
    const own = fields?.system ?? fields?.instructions;
    if (own !== undefined && own !== null) system = own;
    totals.requests += 1;
    totals.prompt_tokens += record.usage?.prompt_tokens ?? 0;
    totals.completion_tokens += record.usage?.completion_tokens ?? 0;
    totals.cost_usd += record.cost_usd ?? 0;
  }
  return { turns, system, messages: last.messages, answer: last.answer, totals };
}
