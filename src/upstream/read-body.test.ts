import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FailureError, failureStatus } from "../core/failure.ts";
import { readBodyWithLimit } from "./read-body.ts";

const MAX_BYTES = 64;

function streamOf(bytes: Uint8Array, chunkSizes: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let index = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      const size = Math.max(1, chunkSizes[index++ % Math.max(1, chunkSizes.length)] ?? 1);
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

async function outcome(request: Request): Promise<string | 413> {
  try {
    return await readBodyWithLimit(request, MAX_BYTES);
  } catch (error) {
    if (error instanceof FailureError && failureStatus(error.failure) === 413) return 413;
    throw error;
  }
}

describe("readBodyWithLimit", () => {
  it("accepts exactly the bodies of at most MAX_REQUEST_BYTES, however they are chunked and declared", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: MAX_BYTES * 2 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom("none", "true", "understated"),
        async (size, chunkSizes, declared) => {
          const bytes = new TextEncoder().encode("x".repeat(size));
          const headers: Record<string, string> = {};
          if (declared === "true") headers["content-length"] = String(size);
          if (declared === "understated") headers["content-length"] = "1";
          const request = new Request("http://router.test/", {
            method: "POST",
            headers,
            body: streamOf(bytes, chunkSizes),
            duplex: "half",
          } as RequestInit);
          const result = await outcome(request);
          if (size <= MAX_BYTES) expect(result).toBe("x".repeat(size));
          else expect(result).toBe(413);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses a declared Content-Length over the limit before reading anything", async () => {
    let pulled = false;
    const body = new ReadableStream(
      {
        pull() {
          pulled = true;
        },
      },
      { highWaterMark: 0 },
    );
    const request = new Request("http://router.test/", {
      method: "POST",
      headers: { "content-length": String(MAX_BYTES + 1) },
      body,
      duplex: "half",
    } as RequestInit);
    expect(await outcome(request)).toBe(413);
    expect(pulled).toBe(false);
  });
});
