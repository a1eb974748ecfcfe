// The fake's model catalogue and the two feeds built from it, shaped like the real captures in
// fixtures/chutes-*-2026-02-18.json. The numbers are picked so that docs/contract.md §4 ranks the defaults in one clear order
// (DEFAULT_RANKING); behaviours live in behaviors.ts, not here.
import { createHash } from "node:crypto";

/** One model the fake serves. Only `id` is required; the rest shapes its feed rows. */
export type FakeModel = {
  id: string;
  /** Default: a stable UUID-looking id derived from `id`. */
  chuteId?: string;
  /** Default: `id` ends with `-TEE`. */
  confidentialCompute?: boolean;
  /** Default 32768. */
  contextLength?: number;
  /** Every utilization window (current, 5m, 15m, 1h). Default 0.5. */
  utilization?: number;
  /** Default 2; 0 makes the model ineligible for ranking. */
  activeInstanceCount?: number;
  /** Every rate-limit window (5m, 15m, 1h). Default 0. */
  rateLimitRatio?: number;
  /** Default false. */
  scalable?: boolean;
  /** Default 0. */
  scaleAllowance?: number;
};

/** A row of `GET /chutes/utilization`, field order as in the capture. */
export type UtilizationRow = {
  chute_id: string;
  name: string;
  timestamp: string;
  utilization_current: number;
  utilization_5m: number;
  utilization_15m: number;
  utilization_1h: number;
  rate_limit_ratio_5m: number;
  rate_limit_ratio_15m: number;
  rate_limit_ratio_1h: number;
  total_requests_5m: number;
  total_requests_15m: number;
  total_requests_1h: number;
  completed_requests_5m: number;
  completed_requests_15m: number;
  completed_requests_1h: number;
  rate_limited_requests_5m: number;
  rate_limited_requests_15m: number;
  rate_limited_requests_1h: number;
  instance_count: number;
  action_taken: string;
  target_count: number;
  effective_multiplier: number;
  total_instance_count: number;
  active_instance_count: number;
  scalable: boolean;
  scale_allowance: number;
  avg_busy_ratio: number;
  total_invocations: number;
  total_rate_limit_errors: number;
};

type Price = { tao: number; usd: number };

/** An item of `GET /v1/models` `data`, field order as in the capture. */
export type ModelEntry = {
  id: string;
  root: string;
  price: { input: Price; output: Price; input_cache_read: Price };
  object: "model";
  parent: null;
  created: number;
  pricing: { prompt: number; completion: number; input_cache_read: number };
  chute_id: string;
  owned_by: string;
  quantization: string;
  max_model_len: number;
  context_length: number;
  input_modalities: string[];
  max_output_length: number;
  output_modalities: string[];
  supported_features: string[];
  confidential_compute: boolean;
  supported_sampling_parameters: string[];
};

/** `created` of every model entry and completion: fixed so that responses compare byte for byte. */
export const FAKE_CREATED = 1771393340;

// Spec §4 scores: fast 8*(1-0.1)=7.2; flaky 6*(1-0.3)+4*0.05-6*0.05*2=3.8; tee 4*(1-0.4)=2.4;
// slow 3*(1-0.5)=1.5; tee-backup 2*(1-0.6)=0.8; cold has no active instance (ineligible).
/** The default catalogue: every model healthy until a behaviour says otherwise. */
export const DEFAULT_MODELS: readonly FakeModel[] = [
  { id: "fake/fast-model", utilization: 0.1, activeInstanceCount: 8 },
  {
    id: "fake/flaky-model",
    utilization: 0.3,
    activeInstanceCount: 6,
    rateLimitRatio: 0.05,
    scalable: true,
    scaleAllowance: 4,
  },
  { id: "fake/tee-model-TEE", utilization: 0.4, activeInstanceCount: 4, contextLength: 131072 },
  { id: "fake/slow-model", utilization: 0.5, activeInstanceCount: 3 },
  { id: "fake/tee-backup-TEE", utilization: 0.6, activeInstanceCount: 2 },
  { id: "fake/cold-model", utilization: 0, activeInstanceCount: 0 },
];

/** Eligible default models in the order docs/contract.md §4 ranks them (all models listed, no breaker open). */
export const DEFAULT_RANKING: readonly string[] = [
  "fake/fast-model",
  "fake/flaky-model",
  "fake/tee-model-TEE",
  "fake/slow-model",
  "fake/tee-backup-TEE",
];

// Busier than any public model, so a router that forgets to skip `[private chute]` rows ranks them first.
const PRIVATE_CHUTES: readonly FakeModel[] = [
  {
    id: "[private chute]",
    chuteId: "00000000-0000-5000-8000-000000000001",
    utilization: 0.05,
    activeInstanceCount: 20,
  },
  {
    id: "[private chute]",
    chuteId: "00000000-0000-5000-8000-000000000002",
    utilization: 0.02,
    activeInstanceCount: 12,
  },
];

/** A stable chute id for a model id (UUID-shaped, like the real ones). */
export function chuteIdFor(modelId: string): string {
  const hex = createHash("sha256").update(`fake-chutes:${modelId}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Chutes' timestamp format: ISO 8601 with microseconds and no zone ("2026-02-18T05:48:08.568123"). */
export function formatChutesTimestamp(now: Date): string {
  return now.toISOString().replace("Z", "000");
}

/** Utilization rows for `models` followed by the private-chute rows. */
export function buildUtilizationRows(models: readonly FakeModel[], now: Date): UtilizationRow[] {
  const timestamp = formatChutesTimestamp(now);
  return [...models, ...PRIVATE_CHUTES].map((model) => toUtilizationRow(model, timestamp));
}

function toUtilizationRow(model: FakeModel, timestamp: string): UtilizationRow {
  const utilization = model.utilization ?? 0.5;
  const rateLimitRatio = model.rateLimitRatio ?? 0;
  const active = model.activeInstanceCount ?? 2;
  const requests5m = active * 120;
  const limited5m = requests5m * rateLimitRatio;
  return {
    chute_id: model.chuteId ?? chuteIdFor(model.id),
    name: model.id,
    timestamp,
    utilization_current: utilization,
    utilization_5m: utilization,
    utilization_15m: utilization,
    utilization_1h: utilization,
    rate_limit_ratio_5m: rateLimitRatio,
    rate_limit_ratio_15m: rateLimitRatio,
    rate_limit_ratio_1h: rateLimitRatio,
    total_requests_5m: requests5m,
    total_requests_15m: requests5m * 3,
    total_requests_1h: requests5m * 12,
    completed_requests_5m: requests5m - limited5m,
    completed_requests_15m: (requests5m - limited5m) * 3,
    completed_requests_1h: (requests5m - limited5m) * 12,
    rate_limited_requests_5m: limited5m,
    rate_limited_requests_15m: limited5m * 3,
    rate_limited_requests_1h: limited5m * 12,
    instance_count: active,
    action_taken: "no_action",
    target_count: active,
    effective_multiplier: 1,
    total_instance_count: active,
    active_instance_count: active,
    scalable: model.scalable ?? false,
    scale_allowance: model.scaleAllowance ?? 0,
    avg_busy_ratio: utilization,
    total_invocations: requests5m * 12,
    total_rate_limit_errors: limited5m * 12,
  };
}

/** `/v1/models` entries for `models`. */
export function buildModelEntries(models: readonly FakeModel[]): ModelEntry[] {
  return models.map(toModelEntry);
}

function toModelEntry(model: FakeModel): ModelEntry {
  const contextLength = model.contextLength ?? 32768;
  return {
    id: model.id,
    root: model.id.replace(/-TEE$/, ""),
    price: {
      input: { tao: 0.0005, usd: 0.1 },
      output: { tao: 0.0015, usd: 0.3 },
      input_cache_read: { tao: 0.00025, usd: 0.05 },
    },
    object: "model",
    parent: null,
    created: FAKE_CREATED,
    pricing: { prompt: 0.1, completion: 0.3, input_cache_read: 0.05 },
    chute_id: model.chuteId ?? chuteIdFor(model.id),
    owned_by: "sglang",
    quantization: "bf16",
    max_model_len: contextLength,
    context_length: contextLength,
    input_modalities: ["text"],
    max_output_length: contextLength,
    output_modalities: ["text"],
    supported_features: ["json_mode", "tools", "structured_outputs"],
    confidential_compute: model.confidentialCompute ?? model.id.endsWith("-TEE"),
    supported_sampling_parameters: ["temperature", "top_p", "top_k", "stop", "seed"],
  };
}
