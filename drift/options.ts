import { z } from 'zod'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { CATEGORICAL_FEATURES, CUMULATIVE_FEATURES } from './reference.js'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

const threshold = z.number().positive().nullable()

/** When a statistic breaches; `null` turns a check off (the statistic is still reported). */
export const driftThresholdsSchema = z.strictObject({
  /** A feature drifted when its PSI is at least this. @default 0.2 */
  psi: threshold.default(0.2),
  /**
   * A numeric feature drifted when its (binned) KS statistic is at least this. At 0.1, windows of a few thousand vectors
   * of a stationary business breached on shifts whose PSI was 0.05 (by convention no change at all). @default 0.15
   */
  ks: threshold.default(0.15),
  /**
   * A categorical feature drifted when its chi-square p-value is at most this. Off by default: with thousands of rows
   * a window, a shift of a point or two is already "significant", which says nothing about whether the model suffers.
   * @default null
   */
  chiSquareP: z.number().gt(0).lt(1).nullable().default(null),
  /** The score distribution drifted when its Jensen-Shannon divergence (bits) from the reference is at least this. @default 0.1 */
  scoreJs: threshold.default(0.1),
  /** Realised ROC-AUC this far below the champion's holdout AUC is a breach. @default 0.05 */
  aucDrop: threshold.default(0.05),
  /** Realised expected calibration error this far above the holdout's is a breach. @default null */
  calibrationErrorRise: threshold.default(null),
  /** A window breaches on feature drift when at least this many features drifted. @default 1 */
  minDriftedFeatures: z.number().int().min(1).default(1),
})

export const driftOptionsSchema = z.strictObject({
  /** Size of the event-time tumbling windows. @default 1 day */
  windowMs: z.number().int().positive().default(DAY_MS),
  /** Windows start at offset + k x windowMs (epoch ms), e.g. to align daily windows to a time zone. @default 0 */
  windowOffsetMs: z.number().int().min(0).default(0),
  /**
   * How far behind the newest event time of an input a record may be and still count: the watermark is the minimum
   * over inputs of their newest event time, minus this. A window closes once the watermark reaches its end; a record for
   * a closed window is dropped and counted as late. @default 1 hour
   */
  allowedLatenessMs: z.number().int().min(0).default(HOUR_MS),
  /** Equal-width bins of [0, 1] for the score distribution. @default 20 */
  scoreBins: z.number().int().min(2).max(1_000).default(20),
  /**
   * Customers kept per window (and model version) for delayed-label evaluation: a uniform sample by hash of the
   * customer id (the same customers whatever the arrival order), so a cohort's state stays bounded. @default 2000
   */
  cohortSampleSize: z.number().int().min(1).max(1_000_000).default(2_000),
  /** Label horizon: a score is a hit when the customer cancels within this after its event time. @default 30 days */
  labelHorizonMs: z.number().int().positive().default(30 * DAY_MS),
  /** Equal-width probability bins of the realised calibration error. @default 10 */
  calibrationBins: z.number().int().min(2).max(1_000).default(10),
  /** Features compared as categories (PSI and chi-square instead of PSI and KS). @default flags and codes of the churn feature set */
  categoricalFeatures: z.array(z.string().min(1)).default([...CATEGORICAL_FEATURES]),
  /**
   * Features whose statistics are reported but never breach. @default the cumulative features of the churn feature set
   * (tenure and lifetime sums), which drift as the customer base ages whatever else happens
   */
  reportOnlyFeatures: z.array(z.string().min(1)).default([...CUMULATIVE_FEATURES]),
  /** A feature not listed is also categorical when its reference has at most this many value bins. @default 2 */
  categoricalMaxBins: z.number().int().min(0).default(2),
  /** Feature vectors a window needs before its feature statistics can breach. @default 500 */
  minRecords: z.number().int().min(1).default(500),
  /** Scores a window needs before its score divergence can breach (and before it can serve as the score baseline). @default 500 */
  minScores: z.number().int().min(1).default(500),
  /** Labelled scores a cohort needs before its realised performance can breach. @default 200 */
  minLabelled: z.number().int().min(1).default(200),
  /** Positives and negatives each a cohort needs for its realised AUC to count. @default 10 */
  minPositives: z.number().int().min(1).default(10),
  thresholds: driftThresholdsSchema.prefault({}),
  /** Consecutive breaching windows (of drift, or of performance) before retraining is requested. @default 3 */
  consecutiveWindows: z.number().int().min(1).default(3),
  /** Least event time between two drift or performance requests. @default 7 days */
  cooldownMs: z.number().int().min(0).default(7 * DAY_MS),
  /** Request retraining every this much event time (aligned to the epoch), whatever the drift; null: never. @default null */
  scheduleEveryMs: z.number().int().positive().nullable().default(null),
})

export type DriftThresholds = z.output<typeof driftThresholdsSchema>
export type DriftOptionsInput = z.input<typeof driftOptionsSchema>
export type DriftOptions = z.output<typeof driftOptionsSchema>

/** Parses options once, at the edge; an error names each bad field and what was expected. */
export function parseDriftOptions(input: DriftOptionsInput = {}): DriftOptions {
  const parsed = driftOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`)
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `invalid drift options: ${problems.join('; ')}`, { details: { problems } })
  }
  return parsed.data
}
