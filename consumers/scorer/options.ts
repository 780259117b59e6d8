import { z } from 'zod'
import { defaultRiskThresholds, riskThresholdsSchema } from '../../scoring/risk.js'

export const scorerOptionsSchema = z.strictObject({
  /** Consumer group of the scorer. @default 'churn-scorer' */
  groupId: z.string().min(1).default('churn-scorer'),
  /**
   * Suppresses a customer's score when its probability moved less than this since the last score
   * emitted for the customer and its risk band did not change. 0 emits every score. The memory of
   * last scores is per process: after a restart the first score of each customer is emitted.
   * @default 0
   */
  epsilon: z.number().min(0).max(1).default(0),
  thresholds: riskThresholdsSchema.default(defaultRiskThresholds),
  /** Reasons in each streamed score. @default 3 */
  topReasons: z.number().int().min(0).max(64).default(3),
  /** Score by the declared business rules when no model can; off goes straight to the base rate. @default true */
  rules: z.boolean().default(true),
  /** Churn rate used at the base-rate level when no champion states its training rate. @default 0.1 */
  defaultBaseRate: z.number().gt(0).lt(1).default(0.1),
  /** Bytes fetched per partition and request; bounds a batch. @default 1 MiB */
  maxBytesPerPartition: z.number().int().positive().default(1_048_576),
  /** @default 30000 */
  sessionTimeoutMs: z.number().int().min(6_000).default(30_000),
  /** Longest the scorer waits at start to read the model log up to date. @default 30000 */
  modelCatchUpMs: z.number().int().min(0).default(30_000),
})

export type ScorerOptionsInput = z.input<typeof scorerOptionsSchema>
export type ScorerOptions = z.output<typeof scorerOptionsSchema>
