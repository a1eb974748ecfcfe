// The client answers every routed /v1 route can give (docs/contract.md §8, §15), for /openapi.json.
export const CLIENT_ERRORS = {
  400: { description: "Invalid body or model (`invalid_json`, `missing_model`, `unknown_model`, …)." },
  401: { description: "`invalid_api_key`: unknown, revoked or expired key (managed mode)." },
  402: { description: "`budget_exceeded` (type `insufficient_quota`): the managed key spent its budget." },
  403: { description: "`model_not_allowed`: the managed key may not use this model." },
  429: {
    description:
      "`rate_limit_exceeded`: the managed key's rpm, tpm or concurrency; `retry-after` and `x-ratelimit-*` say when.",
  },
  502: { description: "No upstream model could answer." },
  503: { description: "No model to route to, or the key service is unreachable." },
};
