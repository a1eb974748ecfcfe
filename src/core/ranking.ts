// Candidate ranking, identical to the original Chutes Autopilot (docs/contract.md §4). Pure: same rows in, same order out,
// whatever order the rows came in.
import type { UtilizationRow } from "./feeds.ts";

export const PRIVATE_CHUTE_NAME = "[private chute]";
const MAX_SCALE_ALLOWANCE = 8;

/** A model that can take traffic now, with what the status page and logs show about it. */
export interface Candidate {
  name: string;
  chuteId: string | null;
  score: number;
  activeInstances: number;
  utilization: number;
  utilizationCurrent: number | null;
  rateLimitRatio: number;
  rateLimitRatio5m: number | null;
  confidentialCompute: boolean;
}

/** What ranking needs from the allowlist: which names exist and which run in confidential compute. */
export interface AllowlistView {
  has(name: string): boolean;
  isConfidential(name: string): boolean;
}

/** docs/contract.md §4 score of one row. */
export function scoreRow(row: UtilizationRow): {
  score: number;
  utilization: number;
  rateLimitRatio: number;
} {
  const u5 = row.utilization_5m ?? row.utilization_current ?? 1;
  const u15 = row.utilization_15m ?? u5;
  const u1h = row.utilization_1h ?? u15;
  const utilization = 0.6 * u5 + 0.3 * u15 + 0.1 * u1h;
  const r5 = row.rate_limit_ratio_5m ?? 0;
  const r15 = row.rate_limit_ratio_15m ?? r5;
  const r1h = row.rate_limit_ratio_1h ?? r15;
  const rateLimitRatio = Math.max(r5, 0.5 * r15, 0.25 * r1h);
  const active = row.active_instance_count;
  const scaleBonus = row.scalable ? Math.min(row.scale_allowance ?? 0, MAX_SCALE_ALLOWANCE) * 0.05 : 0;
  const score = active * Math.max(0, 1 - utilization) + scaleBonus - active * rateLimitRatio * 2;
  return { score, utilization, rateLimitRatio };
}

/** Whether a row may be routed to: public, has instances, and allowlisted (or `-TEE` when there is no allowlist). */
export function isEligible(row: UtilizationRow, allowlist: AllowlistView, allowlistSize: number): boolean {
  if (row.name === PRIVATE_CHUTE_NAME || row.active_instance_count <= 0) return false;
  return allowlistSize > 0 ? allowlist.has(row.name) : row.name.endsWith("-TEE");
}

/** Ranks eligible rows best first; a name that appears twice keeps its best-ranked row. */
export function rankCandidates(
  rows: readonly UtilizationRow[],
  allowlist: AllowlistView,
  allowlistSize: number,
): Candidate[] {
  const ranked = rows
    .filter((row) => isEligible(row, allowlist, allowlistSize))
    .map((row): Candidate => {
      const { score, utilization, rateLimitRatio } = scoreRow(row);
      return {
        name: row.name,
        chuteId: row.chute_id ?? null,
        score,
        activeInstances: row.active_instance_count,
        utilization,
        utilizationCurrent: row.utilization_current ?? null,
        rateLimitRatio,
        rateLimitRatio5m: row.rate_limit_ratio_5m ?? null,
        confidentialCompute:
          allowlistSize > 0 ? allowlist.isConfidential(row.name) : row.name.endsWith("-TEE"),
      };
    })
    .sort(compareCandidates);
  const seen = new Set<string>();
  return ranked.filter((candidate) => !seen.has(candidate.name) && seen.add(candidate.name));
}

/** Score desc, instances desc, current utilization asc, 5m rate-limit ratio asc, name asc (docs/contract.md §4). */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    b.score - a.score ||
    b.activeInstances - a.activeInstances ||
    (a.utilizationCurrent ?? 1) - (b.utilizationCurrent ?? 1) ||
    (a.rateLimitRatio5m ?? 0) - (b.rateLimitRatio5m ?? 0) ||
    compareText(a.name, b.name) ||
    compareText(a.chuteId ?? "", b.chuteId ?? "")
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
