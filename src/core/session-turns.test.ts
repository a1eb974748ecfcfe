import { describe, expect, it } from "vitest";
import { sessionTurns, type TurnSource } from "./session-turns.ts";

const turn = (id: string, messages: unknown[] | null, answer: string, usd: number): TurnSource => ({
  id,
  time: "2026-12-07T00:00:00.000Z",
  selected_model: "m",
  status: 200,
  usage: { prompt_tokens: 10, completion_tokens: 2, estimated: false },
  cost_usd: usd,
  ...(messages ? { request: { system: "be terse", messages } } : {}),
  answer: { text: answer },
});

describe("sessionTurns", () => {
  it("shows what each turn added, the conversation as the last turn holds it, and the totals", () => {
    const q1 = { role: "user", content: "one" };
    const a1 = { role: "assistant", content: "1" };
    const q2 = { role: "user", content: "two" };
    const session = sessionTurns([turn("r1", [q1], "1", 0.5), turn("r2", [q1, a1, q2], "2", 0.25)]);
    expect(session.turns.map((t) => t.new_messages)).toEqual([[q1], [a1, q2]]);
    expect(session.messages).toEqual([q1, a1, q2]);
    expect(session.answer).toEqual({ text: "2" });
    expect(session.system).toBe("be terse");
    expect(session.totals).toEqual({ requests: 2, prompt_tokens: 20, completion_tokens: 4, cost_usd: 0.75 });
  });

  it("keeps a turn without bodies in order with no messages, and a compacted history as all new", () => {
    const q = { role: "user", content: "summary of before" };
    const session = sessionTurns([
      turn("r1", [{ role: "user", content: "a" }], "x", 0),
      turn("r2", null, "y", 0),
      turn("r3", [q], "z", 0),
    ]);
    expect(session.turns.map((t) => t.new_messages)).toEqual([[{ role: "user", content: "a" }], null, [q]]);
    expect(session.messages).toEqual([q]);
  });
});
