// A managed key as the admin API and the status page show it (docs/contract.md §15): its record, status and
// ledger figures from the key's object, in the admin API's field names.
import { FailureError } from "../core/failure.ts";
import { type KeyDescription, keyDirectoryStub, keyLedgerStub } from "../state/key-objects.ts";
import type { KeyView } from "./admin-schemas.ts";

/** Every key's view, oldest first (for the admin API and the status page). */
export async function listKeys(env: Env): Promise<KeyView[]> {
  const ids = await keyDirectoryStub(env).list();
  const described = await Promise.all(ids.map((id) => keyLedgerStub(env, id).describe()));
  return described.flatMap((description, i) => (description ? [viewOf(ids[i] as string, description)] : []));
}

export async function describe(env: Env, id: string): Promise<KeyView> {
  return toView(id, await keyLedgerStub(env, id).describe());
}

export function toView(id: string, description: KeyDescription | null): KeyView {
  if (!description) throw new FailureError({ kind: "key_not_found", id });
  return viewOf(id, description);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function viewOf(id: string, { record, status, ledger, previousKeyValidUntilMs }: KeyDescription): KeyView {
  const { limits } = record;
  return {
    id,
    object: "api_key",
    name: record.name,
    prefix: record.prefix,
    status,
    models: limits.models,
    rpm: limits.rpm,
    tpm: limits.tpm,
    max_concurrency: limits.maxConcurrency,
    budget_usd: limits.budgetUsd,
    budget_period: limits.budgetPeriod,
    expires_at: iso(limits.expiresAtMs),
    recording: limits.recording ?? null,
    created_at: new Date(record.createdMs).toISOString(),
    revoked_at: iso(record.revokedMs),
    last_used_at: iso(ledger.lastUsedMs),
    previous_key_valid_until: iso(previousKeyValidUntilMs),
    spend: {
      period_start: new Date(ledger.periodStartMs).toISOString(),
      period_end: iso(ledger.periodEndMs),
      usd: ledger.periodSpentUsd,
      total_usd: ledger.spentUsdTotal,
    },
    usage: {
      requests: ledger.requests,
      prompt_tokens: ledger.promptTokens,
      completion_tokens: ledger.completionTokens,
    },
  };
}
