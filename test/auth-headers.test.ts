// Auth modes and header hygiene (docs/contract.md §6): passthrough forwards the client's own key; managed mode checks the
// client's key and sends the router's upstream key instead; upstream never sees hop-by-hop or client-address
// headers.
import { describe, expect, it } from "vitest";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, callRouterWith } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { calledModels, serveUpstream, UPSTREAM_CHAT_URL } from "./support/upstream.ts";

const [ALPHA] = HEALTHY_RANKING as [string];
const stub = useRoutingFixture();
const MANAGED = { ROUTER_API_KEYS: "rk_first_key, rk_second_key", UPSTREAM_API_KEY: "cpk_upstream_secret" };

function upstreamHeaders(): Headers {
  const call = stub().calls.find((c) => c.url === UPSTREAM_CHAT_URL);
  if (!call) throw new Error("no upstream call");
  return call.headers;
}

describe("passthrough auth", () => {
  it("forwards the client's Authorization unchanged", async () => {
    serveUpstream(stub(), {});
    await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: ALPHA, messages: MESSAGES }, { authorization: "cpk_abc.def.ghi" }),
    );
    expect(upstreamHeaders().get("authorization")).toBe("cpk_abc.def.ghi");
  });
});

describe("header hygiene", () => {
  it("never forwards hop-by-hop, host, content-length, cookie, cf-* or x-forwarded-* headers", async () => {
    serveUpstream(stub(), {});
    await callRouter(
      "/v1/chat/completions",
      chatRequest(
        { model: ALPHA, messages: MESSAGES },
        {
          connection: "keep-alive, x-secret-hop",
          "keep-alive": "timeout=5",
          "x-secret-hop": "1",
          te: "trailers",
          upgrade: "h2c",
          "proxy-authorization": "Basic Zm9v",
          cookie: "session=abc",
          "cf-connecting-ip": "203.0.113.7",
          "cf-ray": "abc",
          "x-forwarded-for": "198.51.100.1",
          "x-forwarded-proto": "https",
          "x-real-ip": "198.51.100.2",
          "x-client-trace": "kept",
          "user-agent": "OpenAI/JS 6.0",
        },
      ),
    );
    const headers = upstreamHeaders();
    for (const name of [
      "connection",
      "keep-alive",
      "x-secret-hop",
      "te",
      "upgrade",
      "proxy-authorization",
      "cookie",
      "cf-connecting-ip",
      "cf-ray",
      "x-forwarded-for",
      "x-forwarded-proto",
      "x-real-ip",
      "host",
    ]) {
      expect(headers.has(name), name).toBe(false);
    }
    expect(headers.get("x-client-trace")).toBe("kept");
    expect(headers.get("user-agent")).toBe("OpenAI/JS 6.0");
    expect(headers.get("content-type")).toBe("application/json");
  });
});

describe("managed auth", () => {
  it.each([
    ["no Authorization", {}],
    ["an unknown key", { authorization: "Bearer rk_wrong_key" }],
    ["a prefix of a real key", { authorization: "Bearer rk_first" }],
    ["an empty bearer", { authorization: "Bearer " }],
  ])("answers 401 invalid_api_key for %s, without naming any key", async (_name, headers) => {
    const response = await callRouterWith(
      MANAGED,
      "/v1/chat/completions",
      chatRequest({ model: ALPHA }, headers),
    );
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(JSON.parse(text).error).toMatchObject({ code: "invalid_api_key", type: "invalid_request_error" });
    expect(text).not.toContain("rk_");
    expect(text).not.toContain("cpk_");
    expect(calledModels(stub())).toEqual([]);
  });

  it.each([["Bearer rk_second_key"], ["rk_first_key"], ["bearer   rk_first_key  "]])(
    "accepts a listed key given as %j and sends the upstream key instead",
    async (authorization) => {
      serveUpstream(stub(), {});
      const response = await callRouterWith(
        MANAGED,
        "/v1/chat/completions",
        chatRequest({ model: ALPHA, messages: MESSAGES }, { authorization }),
      );
      expect(response.status).toBe(200);
      expect(upstreamHeaders().get("authorization")).toBe("Bearer cpk_upstream_secret");
      expect([...upstreamHeaders().values()].join(" ")).not.toContain("rk_");
    },
  );

  it("refuses to run managed mode without an upstream key: 500 invalid_config", async () => {
    const response = await callRouterWith(
      { ROUTER_API_KEYS: "rk_only" },
      "/v1/chat/completions",
      chatRequest({ model: ALPHA }, { authorization: "Bearer rk_only" }),
    );
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_config");
  });
});
