// Builds client requests for the completion routes.
export function chatRequest(
  body: Record<string, unknown> | string,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

export const MESSAGES = [{ role: "user", content: "hi" }];
