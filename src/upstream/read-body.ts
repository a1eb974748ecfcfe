// Reads the request body with MAX_REQUEST_BYTES enforced (docs/contract.md §8). A declared Content-Length over the limit is
// refused before reading; within it, the body is read natively (HTTP framing makes the declared length what
// arrives) and its real size still checked, so a lying header does not get past. Without Content-Length
// (chunked) the bytes are counted as they arrive and reading stops at the limit.
// (Hono's bodyLimit trusts a declared Content-Length, which is why this is not that middleware.)
import { FailureError } from "../core/failure.ts";

/** The body as UTF-8 text; throws a `request_too_large` FailureError (413). */
export async function readBodyWithLimit(request: Request, maxBytes: number): Promise<string> {
  const declaredHeader = request.headers.get("content-length");
  const declared = declaredHeader === null ? Number.NaN : Number(declaredHeader);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return "";
  if (Number.isFinite(declared)) {
    const bytes = await request.arrayBuffer();
    if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
    return new TextDecoder().decode(bytes);
  }
  return readCounting(request.body, maxBytes);
}

async function readCounting(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<string> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

function tooLarge(maxBytes: number): FailureError {
  return new FailureError({ kind: "request_too_large", maxBytes });
}
