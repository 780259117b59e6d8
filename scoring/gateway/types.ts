/**
 * Messages of `proto/churn/v1/churn.proto` and `proto/inference/grpc_predict_v2.proto` as the
 * loader options in `protos.ts` produce them: snake_case fields, int64 as numbers, enums by name.
 * A received message has every field (defaults filled in, unset messages null); a sent one may omit any.
 */

export type ServiceState = 'starting' | 'running' | 'draining' | 'stopped'

export const riskBandNames = {
  low: 'RISK_BAND_LOW',
  medium: 'RISK_BAND_MEDIUM',
  high: 'RISK_BAND_HIGH',
  critical: 'RISK_BAND_CRITICAL',
} as const
export type RiskBandName = (typeof riskBandNames)[keyof typeof riskBandNames] | 'RISK_BAND_UNSPECIFIED'

export const fallbackLevelNames = {
  champion: 'FALLBACK_LEVEL_CHAMPION',
  previous_champion: 'FALLBACK_LEVEL_PREVIOUS_CHAMPION',
  baseline: 'FALLBACK_LEVEL_BASELINE',
  rules: 'FALLBACK_LEVEL_RULES',
  base_rate: 'FALLBACK_LEVEL_BASE_RATE',
  challenger: 'FALLBACK_LEVEL_CHALLENGER',
} as const
export type FallbackLevelName = (typeof fallbackLevelNames)[keyof typeof fallbackLevelNames] | 'FALLBACK_LEVEL_UNSPECIFIED'

export interface FeatureVectorMessage {
  named: Record<string, number>
  values: number[]
  feature_set_version: string
}

export interface ReasonMessage {
  feature: string
  contribution: number
  value?: number | null
}

export interface ScoreMessage {
  customer_id: string
  probability: number
  risk_band: RiskBandName
  model_version: string
  feature_set_version: string
  fallback_level: FallbackLevelName
  reasons: ReasonMessage[]
  scored_at_ms: number
}

export interface ScoreCustomerRequest {
  customer_id: string
  top_reasons: number
}

export interface ScoreCustomerResponse {
  score: ScoreMessage | null
  features_as_of_ms: number
  feature_age_ms: number
}

export interface ScoreRawRequest {
  customer_id: string
  features: FeatureVectorMessage | null
  top_reasons: number
}

export interface ScoreRawResponse {
  score: ScoreMessage | null
}

export interface RawRowMessage {
  customer_id: string
  features: FeatureVectorMessage | null
}

export interface ScoreManyRequest {
  customer_ids: string[]
  rows: RawRowMessage[]
  top_reasons: number
}

export interface ItemErrorMessage {
  code: number
  message: string
}

export interface ScoreManyResult {
  score: ScoreMessage | null
  error: ItemErrorMessage | null
  features_as_of_ms: number
  feature_age_ms: number
}

export interface ScoreManyResponse {
  results: ScoreManyResult[]
}

export interface ExplainRequest {
  customer_id?: string
  features?: FeatureVectorMessage | null
  subject?: 'customer_id' | 'features'
}

export interface ContributionMessage {
  feature: string
  contribution: number
  value?: number | null
}

export interface ExplainResponse {
  score: ScoreMessage | null
  contributions: ContributionMessage[]
  expected_value?: number | null
  features_as_of_ms: number
  feature_age_ms: number
}

export interface StreamScoresRequest {
  customer_ids: string[]
  min_probability: number
}

export interface StreamedScore {
  score: ScoreMessage | null
  feature_age_ms: number
  source_event_time_ms: number
}

export type GetModelInfoRequest = Record<string, never>

export interface ModelSlotMessage {
  version: string
  model_type: string
  feature_set_version: string
  metrics: Record<string, number>
}

export interface ModelInfoMessage {
  feature_set_version: string
  features: { name: string; description: string }[]
  champion: ModelSlotMessage | null
  previous_champion: ModelSlotMessage | null
  challenger: ModelSlotMessage | null
  baseline: ModelSlotMessage | null
  base_rate: number
  thresholds: { medium: number; high: number; critical: number } | null
  max_rows: number
  refused: Record<string, string>
  inference_model_name: string
}

// --- inference.GRPCInferenceService (Open Inference Protocol v2) ---

export interface InferParameter {
  bool_param?: boolean
  int64_param?: number
  string_param?: string
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param'
}

export interface InferTensorContents {
  bool_contents: boolean[]
  int_contents: number[]
  int64_contents: number[]
  uint_contents: number[]
  uint64_contents: number[]
  fp32_contents: number[]
  fp64_contents: number[]
  bytes_contents: Buffer[]
}

export interface InferInputTensor {
  name: string
  datatype: string
  shape: number[]
  parameters: Record<string, InferParameter>
  contents: InferTensorContents | null
}

export interface ModelInferRequest {
  model_name: string
  model_version: string
  id: string
  parameters: Record<string, InferParameter>
  inputs: InferInputTensor[]
  outputs: { name: string; parameters: Record<string, InferParameter> }[]
  raw_input_contents: Buffer[]
}

export interface InferOutputTensor {
  name: string
  datatype: string
  shape: number[]
  parameters?: Record<string, InferParameter>
  contents?: Partial<InferTensorContents> | null
}

export interface ModelInferResponse {
  model_name: string
  model_version: string
  id: string
  parameters: Record<string, InferParameter>
  outputs: InferOutputTensor[]
  raw_output_contents: Buffer[]
}

export interface TensorMetadata {
  name: string
  datatype: string
  shape: number[]
}

export interface ModelMetadataResponse {
  name: string
  versions: string[]
  platform: string
  inputs: TensorMetadata[]
  outputs: TensorMetadata[]
}
