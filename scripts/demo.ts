// `npm run demo`: the router under `wrangler dev` against the embedded fake Chutes, on loopback, with no
// network and no key. Prints the base URL and copy-paste examples; Ctrl-C stops both and leaves nothing running.
// `npm run demo -- --catalogue real` serves the captured Chutes feeds of 2026-02-18 instead of the five fake
// models, each model's engine refusing what its entry says it cannot serve (docs/contract.md §16).
import { parseArgs } from "node:util";
import { portOr } from "../e2e/ports.ts";
import { startStack } from "../e2e/stack.ts";
import { startFakeChutes } from "../fake-chutes/server.ts";

const { values } = parseArgs({ options: { catalogue: { type: "string", default: "fake" } } });
const catalogue = values.catalogue === "real" ? "real" : "fake";
console.log(`Starting the fake Chutes (${catalogue} catalogue) and the router (wrangler dev)…`);
// Managed mode, so the admin API and the recordings can be shown: demo-key is a static client key, and every
// request is recorded with its bodies redacted (docs/contract.md §17).
const ADMIN_KEY = "demo-admin";
const stack = await startStack({
  port: await portOr(8787),
  fake: await startFakeChutes({ catalogue }),
  vars: {
    ROUTER_API_KEYS: "demo-key",
    UPSTREAM_API_KEY: "cpk_demo_upstream",
    ADMIN_API_KEY: ADMIN_KEY,
    RECORDING: "redacted",
    RECORDING_REDACTION_KEY: "demo-redaction-key",
  },
});
const base = `${stack.routerUrl}/v1`;

const probe = await fetch(`${base}/chat/completions`, {
  method: "POST",
  headers: { "content-type": "application/json", authorization: "Bearer demo-key" },
  body: JSON.stringify({
    model: "chutesai/AutoPilot",
    messages: [{ role: "user", content: "Hello, I am jane@example.com" }],
  }),
});
const selected = probe.headers.get("x-chutes-autopilot-selected");
const recordId = probe.headers.get("x-request-id");
await probe.text();
const anthropicProbe = await fetch(`${stack.routerUrl}/v1/messages`, {
  method: "POST",
  headers: { "content-type": "application/json", "x-api-key": "demo-key", "anthropic-version": "2023-06-01" },
  body: JSON.stringify({
    model: "claude-sonnet-4-6",
    max_tokens: 64,
    messages: [{ role: "user", content: "Hello" }],
  }),
});
await anthropicProbe.text();
const recorded = await waitForRecord(recordId);

console.log(`
Router ready: ${base}   (first request → ${probe.status}, routed to ${selected}; Anthropic Messages → ${anthropicProbe.status})
Status page:  ${stack.routerUrl}/status  (log in with any user name and the password ${ADMIN_KEY})
Readiness:    ${stack.routerUrl}/readyz      Fake Chutes: ${stack.fake.url}  (admin: ${stack.fake.url}/__admin/state)

Every request is recorded, bodies redacted (RECORDING=redacted). The first one, as the router kept it
(${recorded ? `its e-mail address is now ${recorded}` : "not written yet: look again in a moment"}):

  ROUTER_URL=${stack.routerUrl} ADMIN_API_KEY=${ADMIN_KEY} npm run records -- show ${recordId}
  ROUTER_URL=${stack.routerUrl} ADMIN_API_KEY=${ADMIN_KEY} npm run records -- list
  curl ${stack.routerUrl}/admin/records/${recordId} -H 'authorization: Bearer ${ADMIN_KEY}'
  Recent requests in a browser: ${stack.routerUrl}/status/requests

Move a share of sessions to another model, step by step, rolled back if it does worse (demo-key is one
session, so send with several keys or Claude Code sessions to see both arms):

  ROUTER_URL=${stack.routerUrl} ADMIN_API_KEY=${ADMIN_KEY} npm run rollouts -- create --name trial \\
    --match chutesai/AutoPilot --candidate fake/flaky-model --steps 50,100 --step-minutes 0.5 --min-requests 10 --min-sessions 2
  ROUTER_URL=${stack.routerUrl} ADMIN_API_KEY=${ADMIN_KEY} npm run rollouts -- list

Stream a chat completion through the AutoPilot alias:

  curl -N ${base}/chat/completions \\
    -H 'content-type: application/json' -H 'authorization: Bearer demo-key' \\
    -d '{"model":"chutesai/AutoPilot","stream":true,"messages":[{"role":"user","content":"Hello"}]}'

Or with the OpenAI SDK (npm install openai), in any Node script:

  import OpenAI from "openai";
  const client = new OpenAI({ baseURL: "${base}", apiKey: "demo-key" });
  const reply = await client.chat.completions.create({
    model: "chutesai/AutoPilot",                       // or a list "a,b", or one model
    messages: [{ role: "user", content: "Hello" }],
  });
  console.log(reply.model, reply.choices[0].message.content);

Anthropic Messages (Claude Code, the Anthropic SDKs): claude-* names go to the alias by default:

  ANTHROPIC_BASE_URL=${stack.routerUrl} ANTHROPIC_API_KEY=demo-key${catalogue === "real" ? " CLAUDE_CODE_AUTO_COMPACT_WINDOW=210000" : ""} claude
  curl ${stack.routerUrl}/v1/messages -H 'content-type: application/json' -H 'x-api-key: demo-key' \
    -d '{"model":"claude-sonnet-4-6","max_tokens":256,"messages":[{"role":"user","content":"Hello"}]}'

OpenAI Responses (Codex CLI, client.responses.create, the AI SDK's Responses provider):

  curl ${base}/responses -H 'content-type: application/json' -H 'authorization: Bearer demo-key' \
    -d '{"model":"chutesai/AutoPilot","input":"Hello"}'

  Codex CLI: put this in $CODEX_HOME/config.toml (default ~/.codex), then
  AUTOPILOT_API_KEY=demo-key codex exec "Say hello"

    model = "chutesai/AutoPilot"
    model_provider = "autopilot"
    model_context_window = ${catalogue === "real" ? "200000" : "100000"}

    [model_providers.autopilot]
    name = "Chutes AutoPilot"
    base_url = "${base}"
    env_key = "AUTOPILOT_API_KEY"
    wire_api = "responses"

Watch a failover: make the best model fail, then ask again (x-chutes-autopilot-attempts: 2):

  curl -X POST ${stack.fake.url}/__admin/behavior -H 'content-type: application/json' \\
    -d '{"model":"${selected}","behavior":{"kind":"status","status":503}}'
  curl -i ${base}/chat/completions -H 'content-type: application/json' -H 'authorization: Bearer demo-key' \\
    -d '{"model":"chutesai/AutoPilot","messages":[{"role":"user","content":"Hello"}]}'
  curl -X POST ${stack.fake.url}/__admin/reset

${
  catalogue === "real"
    ? "Real feed: 61 models with the windows, tools and images Chutes lists; a request goes only where it fits."
    : "The real Chutes feeds of 2026-02-18, each model refusing what it cannot serve: npm run demo -- --catalogue real"
}

Press Ctrl-C to stop.`);

/** The redaction token that replaced the probe's e-mail address, once the Queue's consumer wrote the record. */
async function waitForRecord(id: string | null): Promise<string | null> {
  const deadline = Date.now() + 15_000;
  while (id && Date.now() < deadline) {
    const response = await fetch(`${stack.routerUrl}/admin/records/${id}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    const text = await response.text();
    if (response.ok) return /<EMAIL:[0-9a-f]{8}>/.exec(text)?.[0] ?? null;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return null;
}

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping…");
  await stack.stop();
  await stack.fake.close();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
