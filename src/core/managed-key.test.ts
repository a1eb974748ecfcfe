import { describe, expect, it } from "vitest";
import { keyRecord } from "../../test/support/key-records.ts";
import {
  acceptsHash,
  allowsModel,
  hashSecret,
  type KeyLimits,
  keyStatus,
  NO_LIMITS,
  newKeyId,
  newSecret,
} from "./managed-key.ts";

const at = (iso: string) => Date.parse(iso);
const NOW = at("2026-11-25T12:00:00Z");

function models(...patterns: string[]): KeyLimits {
  return { ...NO_LIMITS, models: patterns };
}

describe("key status", () => {
  it("is active without revocation or expiry", () => {
    expect(keyStatus(keyRecord(), NOW)).toBe("active");
  });

  it("is revoked once revoked, even when it has expired too", () => {
    expect(keyStatus(keyRecord({}, { revokedMs: NOW - 1 }), NOW)).toBe("revoked");
    expect(keyStatus(keyRecord({ expiresAtMs: NOW - 1 }, { revokedMs: NOW - 1 }), NOW)).toBe("revoked");
  });

  it("expires at the expiry instant, not a millisecond earlier", () => {
    const record = keyRecord({ expiresAtMs: NOW });
    expect(keyStatus(record, NOW - 1)).toBe("active");
    expect(keyStatus(record, NOW)).toBe("expired");
    expect(keyStatus(record, NOW + 86_400_000)).toBe("expired");
  });
});

describe("checking a presented secret", () => {
  const current = "c".repeat(64);
  const rotatedOut = "d".repeat(64);
  const rotated = keyRecord(
    {},
    {
      hashes: [
        { hash: rotatedOut, untilMs: NOW + 60_000 },
        { hash: current, untilMs: null },
      ],
    },
  );

  it("opens the key with its current secret", () => {
    expect(acceptsHash(rotated, current, NOW)).toBe(true);
  });

  it("keeps a rotated-out secret working until its grace ends", () => {
    expect(acceptsHash(rotated, rotatedOut, NOW + 59_999)).toBe(true);
    expect(acceptsHash(rotated, rotatedOut, NOW + 60_000)).toBe(false);
    expect(acceptsHash(rotated, current, NOW + 60_000)).toBe(true);
  });

  it("refuses a secret the key never had", () => {
    expect(acceptsHash(rotated, "e".repeat(64), NOW)).toBe(false);
  });

  it("refuses every secret of a revoked or expired key", () => {
    expect(acceptsHash({ ...rotated, revokedMs: NOW - 1 }, current, NOW)).toBe(false);
    const expiring = { ...rotated, limits: { ...rotated.limits, expiresAtMs: NOW } };
    expect(acceptsHash(expiring, current, NOW - 1)).toBe(true);
    expect(acceptsHash(expiring, current, NOW)).toBe(false);
  });

  it("opens a key with the hash of the secret it was created with", async () => {
    const secret = newSecret();
    const record = keyRecord({}, { hashes: [{ hash: await hashSecret(secret), untilMs: null }] });
    expect(acceptsHash(record, await hashSecret(secret), NOW)).toBe(true);
    expect(acceptsHash(record, await hashSecret(newSecret()), NOW)).toBe(false);
  });
});

describe("allowed models", () => {
  it("allows every model when the key names none", () => {
    expect(allowsModel(NO_LIMITS, "Qwen/Qwen3-32B")).toBe(true);
    expect(allowsModel(NO_LIMITS, "a,b,c")).toBe(true);
  });

  it("allows a named model and nothing else", () => {
    const limits = models("Qwen/Qwen3-32B");
    expect(allowsModel(limits, "Qwen/Qwen3-32B")).toBe(true);
    expect(allowsModel(limits, "Qwen/Qwen3-32B-FP8")).toBe(false);
    expect(allowsModel(limits, "qwen/qwen3-32b")).toBe(false);
    expect(allowsModel(limits, "deepseek-ai/DeepSeek-V3")).toBe(false);
  });

  it("allows a model list only when every model in it is allowed", () => {
    const limits = models("a", "b");
    expect(allowsModel(limits, "a,b")).toBe(true);
    expect(allowsModel(limits, " b , a ")).toBe(true);
    expect(allowsModel(limits, "a,,b,")).toBe(true);
    expect(allowsModel(limits, "a,c")).toBe(false);
    expect(allowsModel(limits, "c,a,b")).toBe(false);
  });

  it("allows every model a prefix pattern covers", () => {
    const limits = models("Qwen/*", "chutes-autopilot");
    expect(allowsModel(limits, "Qwen/Qwen3-32B")).toBe(true);
    expect(allowsModel(limits, "Qwen/Qwen3-32B,Qwen/Qwen3-235B-A22B")).toBe(true);
    expect(allowsModel(limits, "Qwen/Qwen3-32B,deepseek-ai/DeepSeek-V3")).toBe(false);
    expect(allowsModel(limits, "QwenX/model")).toBe(false);
    expect(allowsModel(limits, "chutes-autopilot")).toBe(true);
    expect(allowsModel(limits, "chutes-autopilot-tee")).toBe(false);
  });

  it("allows anything with a bare star", () => {
    expect(allowsModel(models("*"), "anything/at-all,other")).toBe(true);
  });

  it("allows nothing with an empty list", () => {
    expect(allowsModel(models(), "Qwen/Qwen3-32B")).toBe(false);
  });
});

describe("secrets and ids", () => {
  it("stores a secret as its hex SHA-256", async () => {
    const hash = await hashSecret("abc");
    expect(hash).toHaveLength(64);
    expect(hash).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await hashSecret("sk-ap-x")).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashSecret("sk-ap-x")).not.toBe(await hashSecret("sk-ap-y"));
  });

  it("makes managed secrets that start with sk-ap- and carry 256 random bits, base64url", () => {
    const secret = newSecret();
    expect(secret.startsWith("sk-ap-")).toBe(true);
    expect(secret).toMatch(/^sk-ap-[A-Za-z0-9_-]{43}$/);
  });

  it("never makes the same secret twice", () => {
    const secrets = new Set(Array.from({ length: 500 }, () => newSecret()));
    expect(secrets.size).toBe(500);
  });

  it("makes key ids of key_ and 12 hex digits", () => {
    const ids = new Set(Array.from({ length: 100 }, () => newKeyId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^key_[0-9a-f]{12}$/);
  });
});
