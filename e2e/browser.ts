// `npm run e2e:browser`: opens the status page in real headless Chromium (Debian's, through playwright-core)
// against the router under `wrangler dev` and the fake Chutes, checks what a person would read there against
// the fake's feed, and saves desktop and phone screenshots under logs/browser/. Loopback only.
import { mkdir } from "node:fs/promises";
import { chromium } from "playwright-core";
import { DEFAULT_RANKING } from "../fake-chutes/catalogue.ts";
import { assert, assertEqual, eventually, runScenarios, writeReport } from "./runner.ts";
import { startStack } from "./stack.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// docs/contract.md §4 scores of the fake's default catalogue (fake-chutes/catalogue.ts).
const EXPECTED_SCORES = ["7.20", "3.80", "2.40", "1.50", "0.80"];
const OUT = "logs/browser";

const started = Date.now();
await mkdir(OUT, { recursive: true });
const stack = await startStack({
  vars: { BREAKER_COOLDOWN_MS: "60000", UTILIZATION_REFRESH_MS: "1000", AGGREGATOR_FORWARD_MS: "200" },
});
// A browser that fails to start must not leave wrangler dev and the fake running behind the failed check.
const browser = await launchBrowser().catch(async (error: unknown) => {
  await stack.stop();
  throw error;
});

function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

let clients = 0;
/** One request from a new client each time, so stickiness does not steer these checks. */
async function chat(model: string, stream = false): Promise<void> {
  clients += 1;
  const response = await fetch(`${stack.routerUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer cpk_browser_${clients}` },
    body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "Hello" }] }),
  });
  await response.text();
}

const results = await runScenarios(
  "browser",
  [
    {
      name: "the desktop status page shows readiness, feed ages, the fake's ranking with its scores and observed TTFT",
      run: async () => {
        stack.fake.setBehavior(DEFAULT_RANKING[0] as string, { kind: "status", status: 503, times: 1 });
        await chat("chutesai/AutoPilot");
        await chat("chutesai/AutoPilot", true);
        // Outcomes reach the control plane through the location aggregator, within a period.
        await eventually("the outcomes on the status page", async () => {
          const status = (await (
            await fetch(`${stack.routerUrl}/status`, { headers: { accept: "application/json" } })
          ).json()) as {
            candidates: Array<{ recentTtfbMs: number | null }>;
            recentFailovers: { reasons: Array<{ reason: string }> };
          };
          return (
            status.candidates[0]?.recentTtfbMs != null &&
            status.recentFailovers.reasons.some((row) => row.reason === "upstream_503")
          );
        });
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(`${stack.routerUrl}/status`);
        assertEqual(await page.title(), "Chutes AutoPilot status", "title");
        assertEqual((await page.textContent("#readiness"))?.trim(), "ready", "readiness badge");
        const names = await page.$$eval("#candidates tbody tr", (rows) =>
          rows.map((row) => row.getAttribute("data-model")),
        );
        assertEqual(names, [...DEFAULT_RANKING], "ranked models");
        const scores = await page.$$eval("#candidates tbody tr td:nth-child(3)", (cells) =>
          cells.map((c) => c.textContent),
        );
        assertEqual(scores, EXPECTED_SCORES, "scores");
        const phases = await page.$$eval("#candidates tbody tr td:last-child", (cells) =>
          cells.map((c) => c.textContent),
        );
        assert(
          phases.every((phase) => phase === "closed"),
          `breakers: ${phases.join(", ")}`,
        );
        const ttft = await page.textContent(
          `#candidates tr[data-model="${DEFAULT_RANKING[0]}"] [data-health]`,
        );
        assert(/^\d+ ms \(\d+ ms\)$/.test(ttft?.trim() ?? ""), `the top model's TTFT cell reads "${ttft}"`);
        const failover = await page.$$eval('#failovers tr[data-reason="upstream_503"] td', (cells) =>
          cells.map((c) => c.textContent),
        );
        assertEqual(failover, ["upstream_503", "1"], "recent failover row");
        const snapshotAge = await page.textContent('[data-feed="utilization snapshot age"] .value');
        assert(/^\d+(\.\d)? (ms|s)$/.test(snapshotAge?.trim() ?? ""), `snapshot age reads "${snapshotAge}"`);
        await page.screenshot({ path: `${OUT}/status-desktop.png`, fullPage: true });
        await page.close();
      },
    },
    {
      name: "on a phone the page fits the screen without sideways scrolling",
      run: async () => {
        const page = await browser.newPage({
          viewport: { width: 390, height: 844 },
          deviceScaleFactor: 2,
          isMobile: true,
        });
        await page.goto(`${stack.routerUrl}/status`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert(overflow <= 0, `page is ${overflow}px wider than the screen`);
        const rows = await page.$$eval("#candidates tbody tr", (r) => r.length);
        assertEqual(rows, DEFAULT_RANKING.length, "rows on a phone");
        const hidden = await page.$$eval(
          "#candidates tbody tr td:last-child",
          (cells) => cells.filter((cell) => cell.getBoundingClientRect().right > window.innerWidth).length,
        );
        assertEqual(hidden, 0, "breaker cells cut off on a phone");
        await page.screenshot({ path: `${OUT}/status-mobile.png`, fullPage: true });
        await page.close();
      },
    },
    {
      name: "the page refreshes itself: an opened breaker appears without a reload",
      run: async () => {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(`${stack.routerUrl}/status`);
        const flaky = DEFAULT_RANKING[1] as string;
        stack.fake.setBehavior(flaky, { kind: "status", status: 503 });
        for (let i = 0; i < 3; i++) await chat(`${flaky},${DEFAULT_RANKING[0]}`);
        await eventually(
          "the breaker cell to read open",
          async () =>
            (await page.textContent(`#candidates tr[data-model="${flaky}"] td:last-child`))?.trim() ===
            "open",
          12_000,
        );
        await page.close();
      },
    },
    {
      name: "the status page links the recent requests, and a record reads with its redacted bodies",
      run: async () => {
        const admin = "browser-admin";
        const recorded = await startStack({
          fake: stack.fake,
          vars: {
            ROUTER_API_KEYS: "rk_browser",
            UPSTREAM_API_KEY: "cpk_browser_upstream",
            ADMIN_API_KEY: admin,
            RECORDING: "redacted",
            RECORDING_REDACTION_KEY: "browser-redaction-key",
          },
        });
        try {
          const email = "grace.hopper@example.com";
          const response = await fetch(`${recorded.routerUrl}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: "Bearer rk_browser" },
            body: JSON.stringify({
              model: "chutesai/AutoPilot",
              messages: [{ role: "user", content: `Write to ${email}` }],
            }),
          });
          await response.text();
          const id = response.headers.get("x-request-id") as string;
          const context = await browser.newContext({
            viewport: { width: 1280, height: 900 },
            httpCredentials: { username: "operator", password: admin },
          });
          const page = await context.newPage();
          await page.goto(`${recorded.routerUrl}/status`);
          await page.click("#recent-requests");
          assertEqual(await page.title(), "Recent requests · Chutes AutoPilot", "recent requests title");
          await eventually(
            "the request in the recent requests",
            async () => {
              await page.reload();
              return (await page.$(`#records tr[data-id="${id}"]`)) !== null;
            },
            15_000,
          );
          const cells = await page.$$eval(`#records tr[data-id="${id}"] td`, (tds) =>
            tds.map((td) => td.textContent?.trim()),
          );
          assertEqual(cells[1], "200", "status cell");
          assertEqual(cells.at(-1), "redacted", "kept cell");
          await page.screenshot({ path: `${OUT}/recent-requests.png`, fullPage: true });
          await page.click(`#records tr[data-id="${id}"] a`);
          const request = (await page.textContent("#request")) ?? "";
          assert(/<EMAIL:[0-9a-f]{8}>/.test(request), "the e-mail address reads as its token");
          assert(!(await page.content()).includes(email), "the e-mail address itself is not on the page");
          await page.screenshot({ path: `${OUT}/record.png`, fullPage: true });
          await context.close();
          const anonymous = await fetch(`${recorded.routerUrl}/status/requests`);
          assertEqual(anonymous.status, 401, "recent requests without the admin key");
          assert(
            (anonymous.headers.get("www-authenticate") ?? "").startsWith("Basic"),
            "a browser is asked to log in",
          );
        } finally {
          await recorded.stop();
        }
      },
    },
  ],
  async () => {},
);

await browser.close();
await stack.stop();
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
await writeReport(`${OUT}/latest.json`, {
  startedAt: new Date(started).toISOString(),
  durationMs: Date.now() - started,
  passed,
  failed,
  screenshots: [
    `${OUT}/status-desktop.png`,
    `${OUT}/status-mobile.png`,
    `${OUT}/recent-requests.png`,
    `${OUT}/record.png`,
  ],
  scenarios: results,
});
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
