// Upstream URLs come only from configuration (docs/contract.md §1): no model name, from a client or from a feed, can change
// the upstream host or path. The name only ever travels inside the JSON body.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { controlPlaneStub as controlPlane } from "../src/state/control-plane.ts";
import { UTILIZATION_HEALTHY } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, forgetCachedView, resetControlPlane } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { jsonResponse } from "./support/stub-fetch.ts";
import { serveUpstream, UPSTREAM_CHAT_URL } from "./support/upstream.ts";

const stub = useRoutingFixture();

const HOSTILE_NAMES = [
  "../../admin",
  "../",
  "http://evil.example/steal",
  "//evil.example/x",
  "%2F..%2Fadmin",
  "model\nHost: evil.example",
  "model\r\nX-Injected: 1",
  "model?redirect=http://evil.example",
  "model#fragment",
  "@evil.example",
  "\u0000null-byte",
];

function upstreamUrls(): string[] {
  return stub()
    .calls.map((call) => call.url)
    .filter((url) => !url.includes("/chutes/utilization") && !url.endsWith("/v1/models"));
}

describe("hostile model names", () => {
  it.each(HOSTILE_NAMES.map((name) => [JSON.stringify(name), name]))(
    "a client's model %s reaches only the configured upstream path, as a JSON string",
    async (_label, name) => {
      serveUpstream(stub(), { [name]: () => jsonResponse({ ok: true }) });
      forgetCachedView(); // a cold isolate checks no allowlist, so the name really is forwarded
      const response = await callRouter(
        "/v1/chat/completions",
        chatRequest({ model: name, messages: MESSAGES }),
      );
      expect(response.status).toBe(200);
      expect(upstreamUrls()).toEqual([UPSTREAM_CHAT_URL]);
      const forwarded = stub().calls.find((call) => call.url === UPSTREAM_CHAT_URL);
      expect(JSON.parse(forwarded?.body ?? "{}").model).toBe(name);
      expect([...(forwarded?.headers.keys() ?? [])]).not.toContain("x-injected");
    },
  );

  it("is refused with 400 unknown_model, naming nothing upstream, once the allowlist is known", async () => {
    await callRouter("/readyz");
    const response = await callRouter(
      "/v1/chat/completions",
      chatRequest({ model: "../../admin,http://evil.example" }),
    );
    expect(response.status).toBe(400);
    expect(upstreamUrls()).toEqual([]);
  });

  it("model names from the feeds cannot steer the upstream either", async () => {
    const names = ["../../admin", "http://evil.example/x"];
    await resetControlPlane();
    stub().on("http://127.0.0.1:9/chutes/utilization", () =>
      jsonResponse(names.map((name) => ({ ...UTILIZATION_HEALTHY[0], name }))),
    );
    stub().on("http://127.0.0.1:9/v1/models", () =>
      jsonResponse({ object: "list", data: names.map((id) => ({ id })) }),
    );
    await controlPlane(env).refreshNow();
    forgetCachedView();
    serveUpstream(
      stub(),
      Object.fromEntries(names.map((name) => [name, () => new Response("{}", { status: 503 })])),
    );
    await (await callRouter("/v1/chat/completions", chatRequest({ model: "chutesai/AutoPilot" }))).text();
    expect(upstreamUrls()).toEqual([UPSTREAM_CHAT_URL, UPSTREAM_CHAT_URL]);
  });
});
