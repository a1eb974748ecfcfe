// Error bodies the fake answers with. FastAPI `{"detail": ...}` wording comes from the captures in
// fixtures/chutes-* (live captures of 2026-02-18) and from the public chutes-api source where known; the rest is a plausible stand-in
// (marked). The nginx HTML page is byte-identical to the captured 429 (CRLF line ends).
import { STATUS_CODES } from "node:http";
import type { OverloadReason } from "./behaviors.ts";

/** FastAPI's compact error body. */
export function detailBody(detail: string): string {
  return JSON.stringify({ detail });
}

/** nginx's default error page for `status`, as the Chutes edge sends it. */
export function nginxErrorPage(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? "Error"}`;
  return [
    "<html>",
    `<head><title>${title}</title></head>`,
    "<body>",
    `<center><h1>${title}</h1></center>`,
    "<hr><center>nginx</center>",
    "</body>",
    "</html>",
    "",
  ].join("\r\n");
}

/** The edge's HTML 429 (chat_completions_no_auth_429_2026-02-18.html). */
export const NGINX_429_HTML = nginxErrorPage(429);

/** `detail` of Chutes' overload 429s (chutes-api: infra_overload detail, bare `no_targets`, disabled model). */
export function overloadDetail(reason: OverloadReason): string {
  switch (reason) {
    case "infra_overload":
      return "Infrastructure is at maximum capacity, try again later";
    case "no_targets":
      return "no_targets";
    case "maintenance":
      return "model is under maintenance";
  }
}

/** `detail` Chutes gives for `status` when a test does not supply a body. */
export function defaultStatusDetail(status: number, model: string, chuteId: string): string {
  switch (status) {
    case 401:
      return "Invalid token.";
    case 402:
      return "Quota exceeded and account balance is $0.0, please pay with fiat or send tao to 5FakeChutesPaymentAddress";
    case 404:
      return `model not found: ${model}`;
    case 429:
      // A per-user limit (chutes-api's duplicate-prompt guard), deliberately without overload wording.
      return "Stop spamming this prompt, please...";
    case 500:
      // Stand-in: Chutes puts the internal error text here.
      return "Internal server error";
    case 503:
      // Python's f"{chute_id=}" renders the id quoted.
      return `No instances available (yet) for chute_id='${chuteId}'`;
    default:
      return STATUS_CODES[status] ?? "Error";
  }
}

/** An HTML page served with a 2xx where JSON was expected (a captive portal or maintenance page). */
export const MAINTENANCE_HTML =
  "<!DOCTYPE html>\n<html><head><title>Chutes</title></head><body><h1>Down for maintenance</h1></body></html>\n";
