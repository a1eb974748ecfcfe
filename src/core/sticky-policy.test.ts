import { describe, expect, it } from "vitest";
import { stickyUpdateAfter } from "./sticky-policy.ts";

const CANDIDATES = ["a", "b", "c"];

describe("stickyUpdateAfter", () => {
  it("sets the model that committed", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: null,
        candidates: CANDIDATES,
        attempts: [{ model: "a", outcome: "committed" }],
      }),
    ).toEqual({
      kind: "set",
      model: "a",
    });
  });

  it("changes nothing when the sticky model commits again", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: "b",
        candidates: ["b", "a"],
        attempts: [{ model: "b", outcome: "committed" }],
      }),
    ).toEqual({
      kind: "none",
    });
  });

  it("moves to the next candidate after a failed sticky model", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: "a",
        candidates: CANDIDATES,
        attempts: [
          { model: "a", outcome: "retryable" },
          { model: "b", outcome: "passthrough" },
        ],
      }),
    ).toEqual({ kind: "set", model: "b" });
  });

  it("forgets when the failed sticky model was the last candidate", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: "c",
        candidates: ["c"],
        attempts: [{ model: "c", outcome: "retryable" }],
      }),
    ).toEqual({
      kind: "forget",
    });
  });

  it("forgets a sticky model that is not among this request's candidates", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: "z",
        candidates: CANDIDATES,
        attempts: [{ model: "a", outcome: "passthrough" }],
      }),
    ).toEqual({
      kind: "forget",
    });
  });

  it("follows failures down the list and settles on the model that finally commits", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: "a",
        candidates: CANDIDATES,
        attempts: [
          { model: "a", outcome: "retryable" },
          { model: "b", outcome: "retryable" },
          { model: "c", outcome: "committed" },
        ],
      }),
    ).toEqual({ kind: "set", model: "c" });
  });

  it("leaves a pass-through answer's client where it was", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: "a",
        candidates: CANDIDATES,
        attempts: [{ model: "a", outcome: "passthrough" }],
      }),
    ).toEqual({
      kind: "none",
    });
  });

  it("moves a client whose committed stream then broke to the next candidate after that model", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: "a",
        candidates: CANDIDATES,
        attempts: [{ model: "a", outcome: "committed" }],
        streamFailed: true,
      }),
    ).toEqual({ kind: "set", model: "b" });
    expect(
      stickyUpdateAfter({
        stickyModel: null,
        candidates: CANDIDATES,
        attempts: [{ model: "c", outcome: "committed" }],
        streamFailed: true,
      }),
    ).toEqual({ kind: "none" });
  });

  it("leaves a hedge that lost the race out of it", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: "a",
        candidates: CANDIDATES,
        attempts: [
          { model: "a", outcome: "hedge_lost" },
          { model: "b", outcome: "committed" },
        ],
      }),
    ).toEqual({ kind: "set", model: "b" });
  });

  it("keeps the client on the model that finished an answer another model's part broke off", () => {
    expect(
      stickyUpdateAfter({
        stickyModel: "a",
        candidates: CANDIDATES,
        attempts: [
          { model: "a", outcome: "committed", streamEnd: "upstream_error" },
          { model: "c", outcome: "committed", streamEnd: "complete" },
        ],
        streamFailed: false,
      }),
    ).toEqual({ kind: "set", model: "c" });
  });
});
