import { beforeEach, describe, expect, it } from "vitest";
import { HEALTHY_RANKING, serveFeed } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, callRouterWith, runCron } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { type FetchStub, jsonResponse } from "./support/stub-fetch.ts";
import {
  calledModels,
  serveUpstream,
  sseEvents,
  status,
  streamBody,
  UPSTREAM_CHAT_URL,
} from "./support/upstream.ts";

const [ALPHA, BETA, GAMMA_TEE] = HEALTHY_RANKING as [string, string, string];

const currentStub = useRoutingFixture();
let stub: FetchStub;
beforeEach(() => {
  stub = currentStub();
});

async function errorOf(response: Response) {
  expect(response.headers.get("content-type")).toContain("application/json");
  return (
    (await response.json()) as {
      error: { code: string; message: string; param: string | null; type: string };
    }
  ).error;
}

describe("alias mode", () => {
  it("sends the request to the best-ranked model and names it in the response headers", async () => {
    serveUpstream(stub, {});
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: "chutesai/AutoPilot", messages: MESSAGES }),
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { model: string }).model).toBe(ALPHA);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(ALPHA);
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("1");
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("routes the TEE alias only to confidential-compute models", async () => {
    serveUpstream(stub, {});
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: "chutesai/AutoPilot-TEE", messages: MESSAGES }),
    );
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(GAMMA_TEE);
    expect(calledModels(stub)).toEqual([GAMMA_TEE]);
  });

  it("streams the upstream SSE body through byte for byte", async () => {
    const events = sseEvents(ALPHA, 5);
    serveUpstream(stub, { [ALPHA]: streamBody(events, "close").behavior });
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: "chutesai/AutoPilot", stream: true, messages: MESSAGES }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(await response.text()).toBe(events.join(""));
  });

  it("answers 503 no_candidates when no model is eligible", async () => {
    serveFeed(stub, "utilization", () => jsonResponse([]));
    await runCron();
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: "chutesai/AutoPilot", messages: MESSAGES }),
    );
    expect(response.status).toBe(503);
    expect((await errorOf(response)).code).toBe("no_candidates");
  });

  it("serves /v1/completions with the same routing", async () => {
    serveUpstream(stub, {});
    const response = await callRouter(
      "/v1/completions",
      chatRequest({ model: "chutesai/AutoPilot", prompt: "hi" }),
    );
    expect(response.status).toBe(200);
    expect(stub.calls.at(-1)?.url).toBe("http://127.0.0.1:9/v1/completions");
  });
});

describe("list mode", () => {
  it("tries the listed models in the client's order, trimmed and de-duplicated", async () => {
    serveUpstream(stub, { [GAMMA_TEE]: status(503, '{"detail":"No instances available (yet)"}') });
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: ` ${GAMMA_TEE} ,, ${GAMMA_TEE}, ${BETA} `, messages: MESSAGES }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBe(BETA);
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("2");
    expect(calledModels(stub)).toEqual([GAMMA_TEE, BETA]);
  });

  it("rejects a list with nothing in it", async () => {
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: " , ,", messages: MESSAGES }),
    );
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: "invalid_model_list", param: "model" });
  });

  it("rejects a list longer than MAX_MODEL_LIST_ITEMS after de-duplication", async () => {
    const nine = Array.from({ length: 9 }, (_, i) => `m${i}`).join(",");
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: nine, messages: MESSAGES }),
    );
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe("invalid_model_list");
    const eightWithRepeats = `${Array.from({ length: 8 }, () => ALPHA).join(",")},${BETA}`;
    serveUpstream(stub, {});
    expect((await callRouter("/v1/chat/completions", chatRequest({ model: eightWithRepeats }))).status).toBe(
      200,
    );
  });

  it("names every model that is not allowlisted", async () => {
    await callRouter("/readyz"); // warms this isolate's routing view, as any earlier request would
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: `${ALPHA},nobody/ghost,other/unlisted-1b`, messages: MESSAGES }),
    );
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error).toMatchObject({ code: "unknown_model", param: "model", type: "invalid_request_error" });
    expect(error.message).toContain("nobody/ghost");
    expect(error.message).toContain("other/unlisted-1b");
    expect(error.message).not.toContain(ALPHA);
    expect(calledModels(stub)).toEqual([]);
  });
});

describe("direct mode", () => {
  it("sends the request to the named model only, without a selected header", async () => {
    serveUpstream(stub, {});
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: BETA, messages: MESSAGES }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chutes-autopilot-selected")).toBeNull();
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("1");
    expect(calledModels(stub)).toEqual([BETA]);
  });

  it("rejects a model outside the allowlist once the isolate knows the allowlist", async () => {
    await callRouter("/readyz");
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: "nobody/ghost", messages: MESSAGES }),
    );
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: "unknown_model", param: "model" });
  });
});

describe("request bodies", () => {
  it("forwards the client's body with only `model` replaced: key order, spacing and number spellings kept", async () => {
    serveUpstream(stub, {});
    const raw =
      '{"temperature": 1.0, "model" : "chutesai/AutoPilot", "seed": 12345678901234567890, "messages":[{"role":"user","content":"model"}],"x":{"model":"inner"}}';
    await callRouter("/v1/chat/completions", chatRequest(raw));
    const forwarded = stub.calls.find((r) => r.url === UPSTREAM_CHAT_URL)?.body;
    expect(forwarded).toBe(raw.replace('"chutesai/AutoPilot"', JSON.stringify(ALPHA)));
  });

  it.each([
    ["not JSON", "{nope", "invalid_json"],
    ["a JSON array", "[1,2]", "invalid_body"],
    ["a JSON string", '"hello"', "invalid_body"],
    ["null", "null", "invalid_body"],
    ["an object without model", '{"messages":[]}', "missing_model"],
    ["an object whose model is not a string", '{"model":42}', "missing_model"],
    ["an object whose model is empty", '{"model":"  "}', "missing_model"],
  ])("answers 400 when the body is %s", async (_name, raw, code) => {
    const response = await callRouter("/v1/chat/completions", chatRequest(raw));
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe(code);
    expect(calledModels(stub)).toEqual([]);
  });

  it("answers 413 when the declared Content-Length is over MAX_REQUEST_BYTES", async () => {
    const big = JSON.stringify({ model: ALPHA, pad: "x".repeat(2000) });
    const response = await callRouterWith(
      { MAX_REQUEST_BYTES: "1000" },
      "/v1/chat/completions",
      chatRequest(big),
    );
    expect(response.status).toBe(413);
    expect((await errorOf(response)).code).toBe("request_too_large");
  });

  it("answers 413 while reading a body sent without Content-Length", async () => {
    const big = new TextEncoder().encode(JSON.stringify({ model: ALPHA, pad: "x".repeat(2000) }));
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < big.length; i += 100) controller.enqueue(big.slice(i, i + 100));
        controller.close();
      },
    });
    const init = {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit;
    const response = await callRouterWith({ MAX_REQUEST_BYTES: "1000" }, "/v1/chat/completions", init);
    expect(response.status).toBe(413);
    expect(calledModels(stub)).toEqual([]);
  });

  it("accepts a body of exactly MAX_REQUEST_BYTES", async () => {
    serveUpstream(stub, {});
    const base = JSON.stringify({ model: ALPHA, pad: "" });
    const exact = JSON.stringify({ model: ALPHA, pad: "x".repeat(1000 - base.length) });
    expect(exact.length).toBe(1000);
    const response = await callRouterWith(
      { MAX_REQUEST_BYTES: "1000" },
      "/v1/chat/completions",
      chatRequest(exact),
    );
    expect(response.status).toBe(200);
  });

  it("answers 405 for GET on a completion route", async () => {
    const response = await callRouter("/v1/chat/completions");
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});
