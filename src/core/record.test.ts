import { describe, expect, it } from "vitest";
import { blobHashes, effectiveLevel, rebuildBody, splitBody } from "./record.ts";

describe("effectiveLevel", () => {
  it("takes the key's level over the router's, and lets the client lower it but never raise it", () => {
    expect(effectiveLevel("metadata", null, null)).toBe("metadata");
    expect(effectiveLevel("metadata", "full", null)).toBe("full");
    expect(effectiveLevel("full", "off", null)).toBe("off");
    expect(effectiveLevel("full", null, "metadata")).toBe("metadata");
    expect(effectiveLevel("redacted", null, " OFF ")).toBe("off");
    expect(effectiveLevel("metadata", null, "full")).toBe("metadata");
    expect(effectiveLevel("off", "redacted", "full")).toBe("redacted");
    expect(effectiveLevel("metadata", null, "all")).toBeNull();
  });
});

describe("splitBody and rebuildBody", () => {
  const system = [{ type: "text", text: "You are terse." }];
  const tools = [{ name: "Bash", input_schema: { type: "object" } }];
  const hello = { role: "user", content: "hello" };
  const body = {
    model: "m",
    max_tokens: 10,
    system,
    tools,
    messages: [hello, { role: "assistant", content: "hi" }, hello],
  };

  it("stores messages, the system prompt and the tools as blobs, each once, and rebuilds the body exactly", async () => {
    const { stored, blobs } = await splitBody(body, null);
    // Two distinct messages, the system prompt and the tools.
    expect(blobs).toHaveLength(4);
    expect(JSON.stringify(stored.request)).not.toContain("hello");
    const hashes = blobHashes(stored.request);
    expect(hashes).toHaveLength(5);
    expect(hashes[0]).toBe(hashes[2]);
    const byHash = new Map(blobs.map(([hash, text]) => [hash, JSON.parse(text)]));
    expect(rebuildBody(stored.request, (hash) => byHash.get(hash))).toEqual(body);
  });

  it("gives the same message the same hash in every request, so a session's history is stored once", async () => {
    const first = await splitBody({ messages: [hello] }, null);
    const second = await splitBody({ messages: [hello, { role: "assistant", content: "hi" }] }, null);
    expect(second.blobs.map(([hash]) => hash)).toContain(first.blobs[0]?.[0]);
  });

  it("leaves a body without messages as it is, and a missing blob reads as null", async () => {
    const { stored, blobs } = await splitBody({ model: "m", prompt: "text" }, null);
    expect(blobs).toEqual([]);
    expect(stored.request).toEqual({ model: "m", prompt: "text" });
    const split = await splitBody({ messages: [hello] }, null);
    expect(rebuildBody(split.stored.request, () => undefined)).toEqual({ messages: [null] });
  });
});
