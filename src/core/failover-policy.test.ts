import { describe, expect, it } from "vitest";
import { classifyStatus, isOverloadBody } from "./failover-policy.ts";

describe("classifyStatus", () => {
  it.each([
    [200, "success"],
    [201, "success"],
    [500, "retryable_status"],
    [502, "retryable_status"],
    [503, "retryable_status"],
    [504, "retryable_status"],
    [429, "maybe_overloaded"],
    [400, "maybe_refused"],
    [413, "maybe_refused"],
    [422, "maybe_refused"],
    [401, "passthrough"],
    [402, "passthrough"],
    [404, "passthrough"],
    [501, "passthrough"],
    [505, "passthrough"],
  ])("%i is %s", (status, kind) => {
    expect(classifyStatus(status)).toBe(kind);
  });
});

describe("isOverloadBody", () => {
  it.each([
    '{"detail":"Infrastructure is at maximum capacity, try again later"}',
    '{"detail":{"code":"infra_overload"}}',
    '{"detail":"no_targets"}',
    '{"detail":"model is under maintenance"}',
  ])("recognises %s as overload", (body) => {
    expect(isOverloadBody(body)).toBe(true);
  });

  it.each([
    '{"detail":"Too many requests"}',
    '{"detail":"Stop spamming this prompt, please..."}',
    "<html><head><title>429 Too Many Requests</title></head></html>",
    "",
  ])("treats %j as a user rate limit", (body) => {
    expect(isOverloadBody(body)).toBe(false);
  });
});
