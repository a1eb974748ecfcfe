// What an image in a request costs in tokens (docs/contract.md §16): by its pixels, read from the header of a
// base64 `data:` URL without decoding the rest, at one token per 28×28 px (Qwen-VL, GLM-V and Kimi-VL all
// merge 14 px patches 2×2), within the bounds those engines resize to. An image the router cannot measure
// (a remote URL, an unknown or broken format) costs a fixed amount: a full-HD screenshot's.
import { DataUrl } from "./json-parts.ts";

/** Pixels per token along each side. */
const PIXELS_PER_TOKEN_SIDE = 28;
/** Qwen2.5-VL's default `max_pixels` (12,845,056) is 16,384 tokens; larger images are scaled down to it. */
export const MAX_IMAGE_TOKENS = 16_384;
/** `min_pixels` (3,136) is four tokens. */
const MIN_IMAGE_TOKENS = 4;
/** Vision-start and vision-end markers around every image. */
const IMAGE_MARKER_TOKENS = 2;
/** An image whose size is unknown: a 1920 × 1080 screenshot (69 × 39 tokens plus markers). */
export const UNMEASURED_IMAGE_TOKENS = 2_700;

/** Tokens for the image at `url` (a `data:` URL, whole or in pieces, or a remote one). */
export function imageTokens(url: string | DataUrl): number {
  const size = dataUrlImageSize(url);
  if (!size) return UNMEASURED_IMAGE_TOKENS;
  const patches =
    Math.ceil(size.width / PIXELS_PER_TOKEN_SIDE) * Math.ceil(size.height / PIXELS_PER_TOKEN_SIDE);
  return Math.min(MAX_IMAGE_TOKENS, Math.max(MIN_IMAGE_TOKENS, patches)) + IMAGE_MARKER_TOKENS;
}

export interface ImageSize {
  width: number;
  height: number;
}

/** The pixel size of a base64 PNG, JPEG, GIF or WebP `data:` URL, or null. */
export function dataUrlImageSize(url: string | DataUrl): ImageSize | null {
  if (url instanceof DataUrl)
    return url.head.startsWith("data:") && url.head.endsWith(";base64,")
      ? imageSize(base64Reader(url.payload, 0))
      : null;
  // Only the head is searched: a search of the whole URL would make the runtime copy a large one.
  const head = url.slice(0, 256);
  if (!head.startsWith("data:")) return null;
  const comma = head.indexOf(",");
  if (comma < 0 || !head.slice(0, comma).endsWith(";base64")) return null;
  return imageSize(base64Reader(url, comma + 1));
}

/** Reads bytes of a base64 payload on demand: only the slices a header parser asks for are decoded. */
type ByteReader = (offset: number, length: number) => Uint8Array | null;

function base64Reader(text: string, start: number): ByteReader {
  return (offset, length) => {
    // Four base64 characters carry three bytes: decode the whole quads that cover the range.
    const firstQuad = Math.floor(offset / 3);
    const lastQuad = Math.floor((offset + length - 1) / 3);
    const from = start + firstQuad * 4;
    const to = start + (lastQuad + 1) * 4;
    if (to > text.length) return null;
    let decoded: string;
    try {
      decoded = atob(text.slice(from, to));
    } catch {
      return null;
    }
    const skip = offset - firstQuad * 3;
    if (decoded.length < skip + length) return null;
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = decoded.charCodeAt(skip + i);
    return bytes;
  };
}

function imageSize(read: ByteReader): ImageSize | null {
  const head = read(0, 30);
  if (!head) return null;
  if (head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47)
    return { width: u32be(head, 16), height: u32be(head, 20) };
  if (head[0] === 0x47 && head[1] === 0x49 && head[2] === 0x46)
    return { width: u16le(head, 6), height: u16le(head, 8) };
  if (ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 4) === "WEBP") return webpSize(head);
  if (head[0] === 0xff && head[1] === 0xd8) return jpegSize(read);
  return null;
}

function webpSize(head: Uint8Array): ImageSize | null {
  switch (ascii(head, 12, 4)) {
    case "VP8 ":
      return { width: u16le(head, 26) & 0x3fff, height: u16le(head, 28) & 0x3fff };
    case "VP8L": {
      const bits = (head[21] as number) | ((head[22] as number) << 8) | ((head[23] as number) << 16);
      const bits2 = bits | ((head[24] as number) << 24);
      return { width: (bits & 0x3fff) + 1, height: ((bits2 >>> 14) & 0x3fff) + 1 };
    }
    case "VP8X":
      return {
        width: ((head[24] as number) | ((head[25] as number) << 8) | ((head[26] as number) << 16)) + 1,
        height: ((head[27] as number) | ((head[28] as number) << 8) | ((head[29] as number) << 16)) + 1,
      };
    default:
      return null;
  }
}

// A JPEG's size is in its start-of-frame segment, after any number of others (EXIF with a thumbnail can be
// tens of KB): walk the segment lengths, decoding four bytes per segment.
const MAX_JPEG_SEGMENTS = 64;

function jpegSize(read: ByteReader): ImageSize | null {
  let offset = 2;
  for (let segment = 0; segment < MAX_JPEG_SEGMENTS; segment++) {
    const marker = read(offset, 4);
    if (marker?.[0] !== 0xff) return null;
    const kind = marker[1] as number;
    // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC), hold the frame size.
    if (kind >= 0xc0 && kind <= 0xcf && kind !== 0xc4 && kind !== 0xc8 && kind !== 0xcc) {
      const frame = read(offset + 5, 4);
      return frame ? { height: u16be(frame, 0), width: u16be(frame, 2) } : null;
    }
    offset += 2 + u16be(marker, 2);
  }
  return null;
}

function u16be(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
}

function u16le(bytes: Uint8Array, at: number): number {
  return (bytes[at] as number) | ((bytes[at + 1] as number) << 8);
}

function u32be(bytes: Uint8Array, at: number): number {
  return u16be(bytes, at) * 65536 + u16be(bytes, at + 2);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}
