import { describe, expect, it } from "vitest";
import { dataUrlImageSize, imageTokens, MAX_IMAGE_TOKENS, UNMEASURED_IMAGE_TOKENS } from "./image-tokens.ts";

// Image headers built byte by byte, padded with enough of a body that the readers never run off the end.
const pad = (bytes: number[], to = 64) => [...bytes, ...new Array(Math.max(0, to - bytes.length)).fill(0)];
const be16 = (n: number) => [n >> 8, n & 255];
const be32 = (n: number) => [(n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, n >> 8];
const le24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];

function dataUrl(mediaType: string, bytes: number[]): string {
  return `data:${mediaType};base64,${btoa(String.fromCharCode(...bytes))}`;
}

function png(width: number, height: number): string {
  const ihdr = [0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, ...be32(width), ...be32(height), 8, 2, 0, 0, 0];
  return dataUrl("image/png", pad([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...ihdr]));
}

/** A JPEG whose frame header comes after an APP1 (EXIF) segment of `exifBytes`. */
function jpeg(width: number, height: number, exifBytes = 16): string {
  const app1 = [0xff, 0xe1, ...be16(exifBytes + 2), ...new Array(exifBytes).fill(0x41)];
  const sof0 = [0xff, 0xc0, ...be16(17), 8, ...be16(height), ...be16(width), 3];
  return dataUrl("image/jpeg", pad([0xff, 0xd8, ...app1, ...sof0]));
}

const gif = (width: number, height: number) =>
  dataUrl("image/gif", pad([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, ...le16(width), ...le16(height)]));

const webpHeader = (chunk: string) => [
  ...[..."RIFF"].map((c) => c.charCodeAt(0)),
  0,
  0,
  0,
  0,
  ...[..."WEBP"].map((c) => c.charCodeAt(0)),
  ...[...chunk].map((c) => c.charCodeAt(0)),
];

describe("dataUrlImageSize", () => {
  it.each([
    ["PNG", png(1920, 1080)],
    ["JPEG", jpeg(1920, 1080)],
    ["JPEG with 40 KB of EXIF before its frame", jpeg(1920, 1080, 40_000)],
    ["GIF", gif(1920, 1080)],
    [
      "WebP (VP8X)",
      dataUrl(
        "image/webp",
        pad([...webpHeader("VP8X"), 0, 0, 0, 0, 0, 0, 0, 0, ...le24(1919), ...le24(1079)]),
      ),
    ],
    [
      "WebP (lossy VP8)",
      dataUrl(
        "image/webp",
        pad([...webpHeader("VP8 "), 0, 0, 0, 0, 0, 0, 0, 0x9d, 0x01, 0x2a, ...le16(1920), ...le16(1080)]),
      ),
    ],
  ])("reads %s's size from its header", (_, url) => {
    expect(dataUrlImageSize(url)).toEqual({ width: 1920, height: 1080 });
  });

  it.each([
    ["a remote URL", "https://example.com/cat.png"],
    ["a data URL that is not base64", "data:image/svg+xml,<svg/>"],
    ["an unknown format", dataUrl("image/bmp", pad([0x42, 0x4d]))],
    ["broken base64", "data:image/png;base64,!!!notbase64!!!notbase64!!!notbase64!!!notbase64"],
    ["a JPEG cut off before its frame", dataUrl("image/jpeg", [0xff, 0xd8, 0xff, 0xe1, 0x10, 0x00])],
  ])("gives up on %s", (_, url) => {
    expect(dataUrlImageSize(url)).toBeNull();
  });
});

describe("imageTokens", () => {
  it("costs one token per 28 × 28 pixels, plus the two markers around an image", () => {
    expect(imageTokens(png(1920, 1080))).toBe(69 * 39 + 2);
    expect(imageTokens(jpeg(28, 28))).toBe(4 + 2);
  });

  it("costs no more than the largest image the engines keep without scaling it down", () => {
    expect(imageTokens(png(20_000, 20_000))).toBe(MAX_IMAGE_TOKENS + 2);
  });

  it("costs a full-HD screenshot's tokens when the size cannot be read", () => {
    expect(imageTokens("https://example.com/cat.png")).toBe(UNMEASURED_IMAGE_TOKENS);
  });
});
