// Every row of docs/contract.md §7's failover table, in alias, list and direct modes: a retryable failure moves on to the
// next candidate; on the last candidate the client gets the table's final answer; anything else passes through.
import { describe, expect, it } from "vitest";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, callRouterWith } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import {
  type Behavior,
  bodyErrorBeforeFirstByte,
  calledModels,
  connectError,
  EDGE_HTML_429,
  emptyBody,
  noFirstByte,
  noHeaders,
  OVERLOADED_BODY,
  serveUpstream,
  status,
  USER_429_BODY,
} from "./support/upstream.ts";

const [ALPHA, BETA, GAMMA_TEE] = HEALTHY_RANKING as [string, string, string];
const stub = useRoutingFixture();

type FinalAnswer = { status: number; routerCode: string } | { status: number; upstreamBody: string };

const RETRYABLE_ROWS: Array<[string, Behavior, FinalAnswer]> = [
  ["connect error", connectError, { status: 502, routerCode: "upstream_connect_error" }],
  ["no headers within the header timeout", noHeaders, { status: 504, routerCode: "upstream_header_timeout" }],
  [
    "status 500",
    status(500, '{"detail":"Internal server error"}'),
    { status: 500, upstreamBody: '{"detail":"Internal server error"}' },
  ],
  [
    "status 502",
    status(502, "<html>bad gateway</html>", "text/html"),
    { status: 502, upstreamBody: "<html>bad gateway</html>" },
  ],
  [
    "status 503",
    status(503, '{"detail":"No instances available (yet)"}'),
    { status: 503, upstreamBody: '{"detail":"No instances available (yet)"}' },
  ],
  ["status 504", status(504, '{"detail":"timeout"}'), { status: 504, upstreamBody: '{"detail":"timeout"}' }],
  ["an overload 429", status(429, OVERLOADED_BODY), { status: 429, upstreamBody: OVERLOADED_BODY }],
  [
    "a no_targets 429",
    status(429, '{"detail":"no_targets"}'),
    { status: 429, upstreamBody: '{"detail":"no_targets"}' },
  ],
  [
    "a maintenance 429",
    status(429, '{"detail":"model is under maintenance"}'),
    { status: 429, upstreamBody: '{"detail":"model is under maintenance"}' },
  ],
  [
    "a 2xx without a first byte in time",
    noFirstByte,
    { status: 504, routerCode: "upstream_first_body_byte_timeout" },
  ],
  ["an empty 2xx body", emptyBody, { status: 504, routerCode: "upstream_first_body_byte_timeout" }],
  [
    "a 2xx body that errors before its first byte",
    bodyErrorBeforeFirstByte,
    { status: 502, routerCode: "upstream_first_body_byte_error" },
  ],
];

const PASSTHROUGH_ROWS: Array<[number, string, string]> = [
  [400, '{"detail":"bad request"}', "application/json"],
  [401, '{"detail":"Invalid token."}', "application/json"],
  [402, '{"detail":"Quota exceeded and account balance is $0.0"}', "application/json"],
  [403, '{"detail":"forbidden"}', "application/json"],
  [404, '{"detail":"model not found"}', "application/json"],
  [413, '{"detail":"too large"}', "application/json"],
  [422, '{"detail":[{"loc":["body","messages"],"msg":"field required"}]}', "application/json"],
  [429, USER_429_BODY, "application/json"],
  [429, EDGE_HTML_429, "text/html"],
];

const MODES = {
  alias: { model: "chutesai/AutoPilot", order: [ALPHA, BETA, GAMMA_TEE] },
  list: { model: `${ALPHA},${BETA}`, order: [ALPHA, BETA] },
  direct: { model: ALPHA, order: [ALPHA] },
} as const;

async function expectFinalAnswer(response: Response, expected: FinalAnswer) {
  expect(response.status).toBe(expected.status);
  if ("routerCode" in expected) {
    const body = (await response.json()) as { error: { code: string; type: string } };
    expect(body.error.code).toBe(expected.routerCode);
  } else {
    expect(await response.text()).toBe(expected.upstreamBody);
  }
}

describe.each(Object.entries(MODES))("%s mode", (_mode, { model, order }) => {
  describe.each(RETRYABLE_ROWS)("when the upstream answers with %s", (_row, behavior, final) => {
    if (order.length > 1) {
      it("moves on to the next candidate, which answers", async () => {
        serveUpstream(stub(), { [ALPHA]: behavior });
        const response = await callRouter("/v1/chat/completions", chatRequest({ model, messages: MESSAGES }));
        expect(response.status).toBe(200);
        expect(((await response.json()) as { model: string }).model).toBe(BETA);
        expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("2");
        expect(response.headers.get("x-chutes-autopilot-selected")).toBe(BETA);
        expect(calledModels(stub())).toEqual([ALPHA, BETA]);
      });
    }

    it(`gives the final answer when every candidate fails (${order.length} attempts)`, async () => {
      serveUpstream(stub(), Object.fromEntries(order.map((m) => [m, behavior])));
      const response = await callRouter("/v1/chat/completions", chatRequest({ model, messages: MESSAGES }));
      await expectFinalAnswer(response, final);
      expect(response.headers.get("x-chutes-autopilot-attempts")).toBe(String(order.length));
      expect(calledModels(stub())).toEqual(order);
    });
  });

  it.each(PASSTHROUGH_ROWS)(
    "passes a %i through untouched, without trying another model",
    async (code, body, type) => {
      serveUpstream(stub(), {
        [ALPHA]: () =>
          new Response(body, { status: code, headers: { "content-type": type, "x-upstream": "kept" } }),
      });
      const response = await callRouter("/v1/chat/completions", chatRequest({ model, messages: MESSAGES }));
      expect(response.status).toBe(code);
      expect(await response.text()).toBe(body);
      expect(response.headers.get("content-type")).toBe(type);
      expect(response.headers.get("x-upstream")).toBe("kept");
      expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("1");
      expect(calledModels(stub())).toEqual([ALPHA]);
    },
  );
});

describe("attempt cap", () => {
  it("makes at most MAX_ATTEMPTS upstream attempts and then gives the last failure's answer", async () => {
    serveUpstream(stub(), {
      [ALPHA]: status(503, '{"detail":"a"}'),
      [BETA]: status(503, '{"detail":"b"}'),
      [GAMMA_TEE]: status(503, '{"detail":"c"}'),
    });
    const response = await callRouterWith(
      { MAX_ATTEMPTS: "2" },
      "/v1/chat/completions",
      chatRequest({ model: "chutesai/AutoPilot", messages: MESSAGES }),
    );
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('{"detail":"b"}');
    expect(response.headers.get("x-chutes-autopilot-attempts")).toBe("2");
    expect(calledModels(stub())).toEqual([ALPHA, BETA]);
  });
});
