// Stickiness (docs/contract.md §5), fleet-wide through the sticky shards: each test clears the isolate's local sticky
// cache between requests (settle), so what it sees comes from the shard objects, as another isolate would.
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { stickyShardName } from "../src/state/sticky-shard.ts";
import { HEALTHY_RANKING } from "./support/feeds.ts";
import { chatRequest, MESSAGES } from "./support/requests.ts";
import { callRouter, callRouterWith, settle } from "./support/router.ts";
import { useRoutingFixture } from "./support/setup-routing.ts";
import { calledModels, serveUpstream, status } from "./support/upstream.ts";

const [ALPHA, BETA, GAMMA_TEE] = HEALTHY_RANKING as [string, string, string];
const stub = useRoutingFixture();
afterEach(() => {
  vi.useRealTimers();
});

let keyCount = 0;
/** A fresh client key per test: shard storage is shared by the tests of this file. */
function newClient(): Record<string, string> {
  keyCount += 1;
  return { authorization: `Bearer cpk_test_client_${keyCount}_${"0".repeat(24)}` };
}

async function ask(model: string, client: Record<string, string>, overrides?: Record<string, string>) {
  stub().calls.length = 0;
  const init = chatRequest({ model, messages: MESSAGES }, client);
  const response = overrides
    ? await callRouterWith(overrides, "/v1/chat/completions", init)
    : await callRouter("/v1/chat/completions", init);
  await response.text();
  await settle();
  return { response, called: calledModels(stub()) };
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function shardRows(key: string) {
  const shard = env.STICKY_SHARD.getByName(stickyShardName(key));
  return runInDurableObject(shard, (_instance, state) =>
    state.storage.sql.exec<{ key: string; model: string }>("SELECT key, model FROM sticky").toArray(),
  );
}

describe("sticky routing", () => {
  it("keeps a client on the model that answered it, ahead of the ranking", async () => {
    const client = newClient();
    serveUpstream(stub(), { [ALPHA]: status(503, '{"detail":"busy"}') });
    expect((await ask("chutesai/AutoPilot", client)).called).toEqual([ALPHA, BETA]);

    serveUpstream(stub(), {});
    const second = await ask("chutesai/AutoPilot", client);
    expect(second.called).toEqual([BETA]);
    expect(second.response.headers.get("x-chutes-autopilot-selected")).toBe(BETA);

    const stranger = await ask("chutesai/AutoPilot", newClient());
    expect(stranger.called).toEqual([ALPHA]);
  });

  it("moves the client to the next candidate when its model fails, even without a commit", async () => {
    const client = newClient();
    serveUpstream(stub(), {});
    expect((await ask(`${ALPHA},${BETA},${GAMMA_TEE}`, client)).called).toEqual([ALPHA]);

    serveUpstream(stub(), { [ALPHA]: status(503, "{}"), [BETA]: status(400, '{"detail":"bad"}') });
    expect((await ask(`${ALPHA},${BETA},${GAMMA_TEE}`, client)).called).toEqual([ALPHA, BETA]);

    serveUpstream(stub(), {});
    expect((await ask(`${ALPHA},${BETA},${GAMMA_TEE}`, client)).called).toEqual([BETA]);
  });

  it("ignores a sticky model that is not among this request's candidates", async () => {
    const client = newClient();
    serveUpstream(stub(), {});
    await ask(`${GAMMA_TEE},${ALPHA}`, client);
    expect((await ask(`${BETA},${ALPHA}`, client)).called).toEqual([BETA]);
  });

  it("keeps an active client past STICKY_TTL_SECS: each use counts, not only changes", async () => {
    const client = newClient();
    serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
    await ask("chutesai/AutoPilot", client);
    serveUpstream(stub(), {});
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    for (const minutes of [20, 40]) {
      vi.setSystemTime(start + minutes * 60_000);
      expect((await ask("chutesai/AutoPilot", client)).called).toEqual([BETA]);
    }
  });

  it("forgets a client after STICKY_TTL_SECS without a request", async () => {
    const client = newClient();
    serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
    await ask("chutesai/AutoPilot", client);
    serveUpstream(stub(), {});
    expect((await ask("chutesai/AutoPilot", client)).called).toEqual([BETA]);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 1800 * 1000 + 1);
    const later = await ask(`${ALPHA},${BETA}`, client);
    expect(later.called).toEqual([ALPHA]);
  });

  it("never uses or records stickiness in direct mode", async () => {
    const client = newClient();
    serveUpstream(stub(), {});
    await ask(BETA, client);
    const key = `auth:${await sha256Hex(client.authorization?.replace("Bearer ", "") ?? "")}`;
    expect((await shardRows(key)).filter((row) => row.key === key)).toEqual([]);
    expect((await ask("chutesai/AutoPilot", client)).called).toEqual([ALPHA]);
  });

  it("is off when STICKY_TTL_SECS is 0", async () => {
    const client = newClient();
    serveUpstream(stub(), { [ALPHA]: status(503, "{}") });
    await ask("chutesai/AutoPilot", client, { STICKY_TTL_SECS: "0" });
    serveUpstream(stub(), {});
    expect((await ask("chutesai/AutoPilot", client, { STICKY_TTL_SECS: "0" })).called).toEqual([ALPHA]);
  });

  it("stores the SHA-256 of the client's token, never the token", async () => {
    const token = "cpk_secret_token_that_must_not_be_stored";
    serveUpstream(stub(), {});
    await ask(`${BETA},${ALPHA}`, { authorization: `  Bearer   ${token} ` });
    const key = `auth:${await sha256Hex(token)}`;
    const rows = await shardRows(key);
    expect(rows).toContainEqual({ key, model: BETA });
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it("keys clients without Authorization by CF-Connecting-IP, and by X-Forwarded-For only when trusted", async () => {
    serveUpstream(stub(), {});
    await ask(`${BETA},${ALPHA}`, { "cf-connecting-ip": "203.0.113.7", "x-forwarded-for": "198.51.100.1" });
    expect(await shardRows("ip:203.0.113.7")).toContainEqual({ key: "ip:203.0.113.7", model: BETA });
    expect((await shardRows("ip:198.51.100.1")).some((row) => row.key === "ip:198.51.100.1")).toBe(false);

    await ask(
      `${GAMMA_TEE},${ALPHA}`,
      { "x-forwarded-for": "198.51.100.9, 10.0.0.1" },
      { TRUST_PROXY_HEADERS: "true" },
    );
    expect(await shardRows("ip:198.51.100.9")).toContainEqual({ key: "ip:198.51.100.9", model: GAMMA_TEE });
  });
});

describe("sticky shard", () => {
  it("keeps at most STICKY_MAX_ENTRIES per shard, evicting the least recently written", async () => {
    const shard = env.STICKY_SHARD.getByName("sticky-cap-test");
    const sizes = await runInDurableObject(shard, (instance) => {
      (instance as unknown as { env: unknown }).env = { ...env, STICKY_MAX_ENTRIES: "2" };
      const at = Date.now();
      instance.apply([
        { key: "ip:a", model: "m1", atMs: at },
        { key: "ip:b", model: "m2", atMs: at },
      ]);
      instance.apply([{ key: "ip:a", model: "m1", atMs: at + 1 }]);
      instance.apply([{ key: "ip:c", model: "m3", atMs: at + 2 }]);
      return {
        size: instance.size(),
        a: instance.lookup("ip:a"),
        b: instance.lookup("ip:b"),
        c: instance.lookup("ip:c"),
      };
    });
    expect(sizes).toEqual({ size: 2, a: "m1", b: null, c: "m3" });
  });

  it("forgets a key written as null", async () => {
    const shard = env.STICKY_SHARD.getByName("sticky-forget-test");
    await shard.apply([{ key: "ip:z", model: "m1", atMs: Date.now() }]);
    await shard.apply([{ key: "ip:z", model: null, atMs: Date.now() + 1 }]);
    expect(await shard.lookup("ip:z")).toBeNull();
  });

  it("ignores a write older than the stored entry, so batches arriving out of order keep the newest", async () => {
    const shard = env.STICKY_SHARD.getByName("sticky-order-test");
    const at = Date.now();
    await shard.apply([{ key: "ip:o", model: "newer", atMs: at + 10 }]);
    await shard.apply([{ key: "ip:o", model: "older", atMs: at }]);
    expect(await shard.lookup("ip:o")).toBe("newer");
    await shard.apply([{ key: "ip:o", model: null, atMs: at + 5 }]);
    expect(await shard.lookup("ip:o")).toBe("newer");
  });
});
