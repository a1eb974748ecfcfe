// The one error class for answers the router itself gives, and the OpenAI error body (SPEC §8).
// Upstream error bodies never pass through here: they are forwarded untouched.

export type ErrorType = "invalid_request_error" | "server_error" | "not_ready" | "upstream_error";

/** `{"error":{"message","type","param","code"}}` with null for absent fields. */
export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

/** An error the router answers with: status plus the OpenAI-shaped body. */
export class RouterError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string | null;
  readonly param: string | null;

  constructor(
    status: number,
    type: ErrorType,
    code: string | null,
    message: string,
    param: string | null = null,
  ) {
    super(message);
    this.name = "RouterError";
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }

  toBody(): OpenAIErrorBody {
    return toOpenAIErrorBody(this.message, this.type, this.code, this.param);
  }
}

export function toOpenAIErrorBody(
  message: string,
  type: ErrorType,
  code: string | null,
  param: string | null = null,
): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}
