import { describe, expect, it } from "vitest";
import { applyOutcomesToBreakers, tallyCounters } from "./outcome-tally.ts";

const OPTIONS = { failureThreshold: 2, cooldownMs: 1000 };

describe("applyOutcomesToBreakers", () => {
  it("counts retryable failures in order and resets on a commit", () => {
    const changed = applyOutcomesToBreakers(
      {},
      [
        {
          status: 200,
          selected: "b",
          attempts: [
            { model: "a", outcome: "retryable", reason: "upstream_503" },
            { model: "b", outcome: "committed", reason: null },
          ],
        },
        {
          status: 200,
          selected: "b",
          attempts: [
            { model: "a", outcome: "retryable", reason: "upstream_503" },
            { model: "b", outcome: "committed", reason: null },
          ],
        },
      ],
      OPTIONS,
      50,
    );
    expect(changed).toEqual({
      a: { consecutiveFailures: 2, openedAtMs: 50 },
      b: { consecutiveFailures: 0, openedAtMs: null },
    });
  });

  it("holds each part of an answer that spanned attempts against its own model", () => {
    const changed = applyOutcomesToBreakers(
      {},
      [
        {
          status: 200,
          selected: "a",
          attempts: [
            { model: "a", outcome: "committed", reason: null, streamEnd: "idle_timeout" },
            { model: "b", outcome: "committed", reason: null, streamEnd: "complete" },
          ],
          stream: { end: "complete", ttfbMs: 10, durationMs: 90, eventStream: true },
        },
      ],
      { failureThreshold: 1, cooldownMs: 1000 },
      50,
    );
    expect(changed).toEqual({
      a: { consecutiveFailures: 1, openedAtMs: 50 },
      b: { consecutiveFailures: 0, openedAtMs: null },
    });
  });

  it("leaves models with only pass-through answers untouched", () => {
    expect(
      applyOutcomesToBreakers(
        {},
        [{ status: 400, selected: "a", attempts: [{ model: "a", outcome: "passthrough", reason: null }] }],
        OPTIONS,
        0,
      ),
    ).toEqual({});
  });
});

describe("tallyCounters", () => {
  it("counts requests by status, selections by model and status, and failover reasons", () => {
    const deltas = tallyCounters([
      {
        status: 200,
        selected: "b",
        attempts: [
          { model: "a", outcome: "retryable", reason: "upstream_503" },
          { model: "b", outcome: "committed", reason: null },
        ],
      },
      { status: 200, selected: "b", attempts: [{ model: "b", outcome: "committed", reason: null }] },
      {
        status: 502,
        selected: null,
        attempts: [{ model: "a", outcome: "retryable", reason: "upstream_connect_error" }],
      },
    ]);
    expect(deltas).toEqual([
      { metric: "requests_total", labels: { status: "200" }, delta: 2 },
      { metric: "selection_total", labels: { model: "b", status: "200" }, delta: 2 },
      { metric: "failover_reason_total", labels: { reason: "upstream_503" }, delta: 1 },
      { metric: "requests_total", labels: { status: "502" }, delta: 1 },
      { metric: "failover_reason_total", labels: { reason: "upstream_connect_error" }, delta: 1 },
    ]);
  });
});
