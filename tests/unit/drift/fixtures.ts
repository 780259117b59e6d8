import { parseDriftOptions, type DriftOptions, type DriftOptionsInput, type DriftReference } from '../../../drift/index.js'

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
/** A Monday, midnight UTC: window starts in tests are readable offsets from it. */
export const T0 = Date.UTC(2024, 0, 1)

/** Small windows and thresholds so a test needs only a handful of records. */
export function testOptions(overrides: DriftOptionsInput = {}): DriftOptions {
  return parseDriftOptions({
    windowMs: HOUR,
    allowedLatenessMs: 10 * MINUTE,
    scoreBins: 10,
    labelHorizonMs: 2 * HOUR,
    minRecords: 10,
    minScores: 10,
    minLabelled: 10,
    minPositives: 2,
    consecutiveWindows: 2,
    cooldownMs: 3 * HOUR,
    // The fixtures' drifting feature is tenure, which breaches only when not report-only (its default).
    reportOnlyFeatures: [],
    ...overrides,
  })
}

/**
 * Three features: tenure (numeric, quartiles 10/20/30), a senior flag (categorical), a charge with 10 % missing; with a
 * score distribution unless `scores` is false (as model metadata today, which has none).
 */
export function testReference(modelVersion = 'v1', overrides: Partial<DriftReference> = {}, scores = true): DriftReference {
  const reference: { -readonly [K in keyof DriftReference]: DriftReference[K] } = {
    modelVersion,
    featureSetVersion: 'fs-1',
    featureCount: 3,
    features: [
      { name: 'tenure_days', index: 0, kind: 'numeric', edges: [10, 20, 30], frequencies: [0.25, 0.25, 0.25, 0.25], missingFraction: 0, count: 10_000 },
      { name: 'is_senior', index: 1, kind: 'categorical', edges: [0.5], frequencies: [0.8, 0.2], missingFraction: 0, count: 10_000 },
      { name: 'monthly_charge', index: 2, kind: 'numeric', edges: [50, 100], frequencies: [0.3, 0.4, 0.3], missingFraction: 0.1, count: 10_000 },
    ],
    scoreFrequencies: [0.2, 0.2, 0.15, 0.1, 0.1, 0.08, 0.07, 0.05, 0.03, 0.02],
    holdoutAuc: 0.8,
    holdoutCalibrationError: 0.02,
    ...overrides,
  }
  if (!scores) delete reference.scoreFrequencies
  return reference
}

/** A vector drawn like the reference (i = 0..n-1 cycles through its bins deterministically). */
export function referenceLikeValues(i: number): number[] {
  const tenure = [5, 15, 25, 35][i % 4] ?? 0
  const senior = i % 5 === 0 ? 1 : 0
  const charge = i % 10 === 9 ? Number.NaN : ([30, 30, 30, 70, 70, 70, 70, 120, 120][i % 10] ?? 0)
  return [tenure, senior, charge]
}
