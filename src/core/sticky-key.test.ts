import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { extractToken, stickyKey, stickySource } from "./sticky-key.ts";

const NO_HEADERS = { authorization: null, cfConnectingIp: null, xForwardedFor: null };

describe("extractToken", () => {
  it.each([
    ["Bearer abc", "abc"],
    ["bearer abc", "abc"],
    ["BEARER    abc  ", "abc"],
    ["  abc  ", "abc"],
    ["cpk_x.y.z", "cpk_x.y.z"],
    ["Bearer", null],
    ["Bearer   ", null],
    ["", null],
    ["Bearerabc", "Bearerabc"],
  ])("reads %j as %j", (header, token) => {
    expect(extractToken(header)).toBe(token);
  });

  it("never returns an empty or padded token", () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        const token = extractToken(header);
        if (token !== null) {
          expect(token).not.toBe("");
          expect(token).toBe(token.trim());
        }
      }),
    );
  });
});

describe("stickySource", () => {
  it("prefers a client session over the token, kept apart from any token by its prefix", () => {
    const headers = {
      session: " 7f0c-session ",
      authorization: "Bearer t",
      cfConnectingIp: null,
      xForwardedFor: null,
    };
    expect(stickySource(headers, false)).toEqual({ kind: "auth", token: "session:7f0c-session" });
    expect(stickySource({ ...headers, session: "  " }, false)).toEqual({ kind: "auth", token: "t" });
  });

  it("prefers the Authorization token over the IP", () => {
    expect(
      stickySource({ authorization: "Bearer t", cfConnectingIp: "1.2.3.4", xForwardedFor: null }, false),
    ).toEqual({
      kind: "auth",
      token: "t",
    });
  });

  it("uses CF-Connecting-IP and ignores X-Forwarded-For unless proxy headers are trusted", () => {
    const headers = { authorization: null, cfConnectingIp: "1.2.3.4", xForwardedFor: "9.9.9.9" };
    expect(stickySource(headers, false)).toEqual({ kind: "ip", ip: "1.2.3.4" });
    expect(stickySource(headers, true)).toEqual({ kind: "ip", ip: "9.9.9.9" });
  });

  it("takes only the left-most X-Forwarded-For entry", () => {
    expect(stickySource({ ...NO_HEADERS, xForwardedFor: " 9.9.9.9 , 10.0.0.1" }, true)).toEqual({
      kind: "ip",
      ip: "9.9.9.9",
    });
  });

  it("falls back to CF-Connecting-IP when a trusted X-Forwarded-For is empty", () => {
    expect(
      stickySource({ authorization: null, cfConnectingIp: "1.2.3.4", xForwardedFor: " , x" }, true),
    ).toEqual({
      kind: "ip",
      ip: "1.2.3.4",
    });
  });

  it("has no key when there is neither a token nor an IP", () => {
    expect(stickySource({ ...NO_HEADERS, authorization: "Bearer " }, true)).toBeNull();
  });

  it("builds auth:<hash> and ip:<ip> keys", () => {
    expect(stickyKey({ kind: "auth", token: "t" }, "ab12")).toBe("auth:ab12");
    expect(stickyKey({ kind: "ip", ip: "1.2.3.4" }, null)).toBe("ip:1.2.3.4");
  });
});

describe("stickySource on arbitrary headers", () => {
  const header = fc.option(fc.string(), { nil: null });

  it("never uses X-Forwarded-For unless proxy headers are trusted", () => {
    fc.assert(
      fc.property(header, header, (cfConnectingIp, xForwardedFor) => {
        const source = stickySource({ authorization: null, cfConnectingIp, xForwardedFor }, false);
        const ip = cfConnectingIp?.trim();
        expect(source).toEqual(ip ? { kind: "ip", ip } : null);
      }),
    );
  });

  it("uses a trusted X-Forwarded-For's left-most entry when it has one", () => {
    fc.assert(
      fc.property(header, fc.string(), fc.string(), (cfConnectingIp, first, rest) => {
        fc.pre(!first.includes(","));
        const source = stickySource(
          { authorization: null, cfConnectingIp, xForwardedFor: `${first},${rest}` },
          true,
        );
        const expected = first.trim() || cfConnectingIp?.trim();
        expect(source).toEqual(expected ? { kind: "ip", ip: expected } : null);
      }),
    );
  });

  it("always prefers a non-empty token, and never returns an empty key part", () => {
    fc.assert(
      fc.property(
        header,
        header,
        header,
        fc.boolean(),
        (authorization, cfConnectingIp, xForwardedFor, trusted) => {
          const source = stickySource({ authorization, cfConnectingIp, xForwardedFor }, trusted);
          if (source?.kind === "auth") expect(source.token).toBe(extractToken(authorization));
          if (source?.kind === "ip") expect(source.ip.trim()).not.toBe("");
          if (extractToken(authorization) !== null) expect(source?.kind).toBe("auth");
        },
      ),
    );
  });
});
