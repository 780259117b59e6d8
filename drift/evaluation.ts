import type { MaturedCohort } from './labels.js'
import type { DriftOptions } from './options.js'
import { chiSquareTest, jensenShannon, ksStatistic, psi, referenceProbabilities } from './statistics.js'
import type { Breach, DriftReportRecord, FeatureDrift, FeatureReference, PerformanceEvaluation, WindowEvaluation } from './types.js'
import type { ClosedWindow } from './windows.js'

export type EvaluationOptions = Pick<DriftOptions, 'thresholds' | 'minRecords' | 'minScores' | 'minLabelled' | 'minPositives'> & Partial<Pick<DriftOptions, 'reportOnlyFeatures'>>

function orNull(value: number): number | null {
  return Number.isNaN(value) ? null : value
}

function featureDrift(feature: FeatureReference, counts: readonly number[], records: number, options: EvaluationOptions): { drift: FeatureDrift; breaches: Breach[] } {
  const { thresholds } = options
  const expected = referenceProbabilities(feature)
  const index = psi(counts, expected)
  const numeric = feature.kind === 'numeric'
  const ks = numeric ? orNull(ksStatistic(counts, feature.frequencies)) : null
  const chi = numeric ? undefined : chiSquareTest(counts, expected, feature.count)
  const chiSquare = chi === undefined ? null : orNull(chi.statistic)
  const chiSquareP = chi === undefined ? null : orNull(chi.pValue)
  const breaches: Breach[] = []
  if (records >= options.minRecords && options.reportOnlyFeatures?.includes(feature.name) !== true) {
    if (thresholds.psi !== null && index >= thresholds.psi) breaches.push({ statistic: 'psi', feature: feature.name, value: index, threshold: thresholds.psi })
    if (thresholds.ks !== null && ks !== null && ks >= thresholds.ks) breaches.push({ statistic: 'ks', feature: feature.name, value: ks, threshold: thresholds.ks })
    if (thresholds.chiSquareP !== null && chiSquareP !== null && chiSquareP <= thresholds.chiSquareP) {
      breaches.push({ statistic: 'chi_square_p', feature: feature.name, value: chiSquareP, threshold: thresholds.chiSquareP })
    }
  }
  const missing = counts[counts.length - 1] ?? 0
  return {
    drift: {
      feature: feature.name,
      kind: feature.kind,
      missingFraction: records > 0 ? missing / records : 0,
      psi: index,
      ks,
      chiSquare,
      chiSquareP,
      drifted: breaches.length > 0,
    },
    breaches,
  }
}

/**
 * Drift statistics of a closed window against the reference its vectors were binned on, and of its scores (of the
 * reference's model) against `scoreReference`. Statistics are reported for any window with data; they breach only
 * with `minRecords` vectors (features) or `minScores` scores (score divergence). Undefined for a window without a
 * reference (nothing to compare with).
 */
export function evaluateWindow(window: ClosedWindow, scoreReference: readonly number[] | undefined, options: EvaluationOptions): WindowEvaluation | undefined {
  const { reference } = window
  if (reference === undefined) return undefined
  const features: FeatureDrift[] = []
  const featureBreaches: Breach[] = []
  if (window.records > 0) {
    reference.features.forEach((feature, f) => {
      const { drift, breaches } = featureDrift(feature, window.featureCounts[f] ?? [], window.records, options)
      features.push(drift)
      featureBreaches.push(...breaches)
    })
  }
  const drifted = features.filter((feature) => feature.drifted).length
  const breaches = drifted >= options.thresholds.minDriftedFeatures ? featureBreaches : []

  const scores = window.scores.get(reference.modelVersion)
  const scoreCount = scores?.count ?? 0
  let scoreJs: number | null = null
  if (scores !== undefined && scoreCount > 0 && scoreReference?.length === scores.histogram.length) {
    scoreJs = orNull(jensenShannon(scores.histogram, scoreReference))
  }
  const { scoreJs: jsThreshold } = options.thresholds
  if (scoreJs !== null && jsThreshold !== null && scoreCount >= options.minScores && scoreJs >= jsThreshold) {
    breaches.push({ statistic: 'score_js', feature: null, value: scoreJs, threshold: jsThreshold })
  }
  return {
    kind: 'drift',
    windowStart: window.start,
    windowEnd: window.end,
    modelVersion: reference.modelVersion,
    featureSetVersion: reference.featureSetVersion,
    records: window.records,
    scores: scoreCount,
    features,
    scoreJs,
    evaluable: window.records >= options.minRecords || (scoreJs !== null && scoreCount >= options.minScores),
    breaches,
    lateRecords: window.lateRecords,
  }
}

/**
 * Realised performance of a matured cohort against the model's holdout: evaluable with `minLabelled` labelled customers,
 * at least `minPositives` of each class and a holdout figure to compare with.
 */
export function evaluatePerformance(matured: MaturedCohort, options: EvaluationOptions): PerformanceEvaluation {
  const { cohort } = matured
  const { thresholds } = options
  const negatives = matured.labelled - matured.positives
  const enough = matured.labelled >= options.minLabelled && matured.positives >= options.minPositives && negatives >= options.minPositives
  const breaches: Breach[] = []
  let comparable = false
  if (enough && matured.rocAuc !== null && cohort.holdoutAuc !== null && thresholds.aucDrop !== null) {
    comparable = true
    const drop = cohort.holdoutAuc - matured.rocAuc
    if (drop >= thresholds.aucDrop) breaches.push({ statistic: 'auc_drop', feature: null, value: drop, threshold: thresholds.aucDrop })
  }
  if (enough && matured.calibrationError !== null && cohort.holdoutCalibrationError !== null && thresholds.calibrationErrorRise !== null) {
    comparable = true
    const rise = matured.calibrationError - cohort.holdoutCalibrationError
    if (rise >= thresholds.calibrationErrorRise) breaches.push({ statistic: 'calibration_error_rise', feature: null, value: rise, threshold: thresholds.calibrationErrorRise })
  }
  return {
    kind: 'performance',
    windowStart: cohort.windowStart,
    windowEnd: cohort.windowEnd,
    maturedAt: matured.maturedAt,
    modelVersion: cohort.modelVersion,
    featureSetVersion: cohort.featureSetVersion,
    scored: cohort.scored,
    labelled: matured.labelled,
    positives: matured.positives,
    rocAuc: matured.rocAuc,
    calibrationError: matured.calibrationError,
    holdoutAuc: cohort.holdoutAuc,
    holdoutCalibrationError: cohort.holdoutCalibrationError,
    evaluable: comparable,
    breaches,
  }
}

/** `psi:tenure_days`, `score_js`: a breach as listed in a report. */
export function breachName(breach: Breach): string {
  return breach.feature === null ? breach.statistic : `${breach.statistic}:${breach.feature}`
}

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * A report id derived from what the report is about (kind, model, window), never from when it was made: a report
 * published again after a restart carries the same id.
 */
export function reportId(kind: 'drift' | 'performance', modelVersion: string, windowStart: number): string {
  return `${kind}:${modelVersion}:${iso(windowStart)}`
}

/** The `DriftReport` of a window's drift statistics (`labelled` 0, no realised performance). */
export function windowReport(evaluation: WindowEvaluation, createdAt: number): DriftReportRecord {
  return {
    report_id: reportId('drift', evaluation.modelVersion, evaluation.windowStart),
    kind: 'drift',
    window_start: evaluation.windowStart,
    window_end: evaluation.windowEnd,
    model_version: evaluation.modelVersion,
    feature_set_version: evaluation.featureSetVersion,
    records: evaluation.records,
    labelled: 0,
    features: evaluation.features.map((feature) => ({
      feature: feature.feature,
      kind: feature.kind,
      psi: feature.psi,
      ks: feature.ks,
      chi_square_p: feature.chiSquareP,
      drifted: feature.drifted,
    })),
    score_js: evaluation.scoreJs,
    realised_auc: null,
    calibration_error: null,
    breached: evaluation.breaches.length > 0,
    breaches: evaluation.breaches.map(breachName),
    created_at: createdAt,
    late_records: evaluation.lateRecords ?? 0,
  }
}

/**
 * The `DriftReport` of a cohort's realised performance: the window the scores were emitted in, published when their
 * labels are final (a horizon later). `records` is the window's score count, `features` is empty.
 */
export function performanceReport(evaluation: PerformanceEvaluation, createdAt: number): DriftReportRecord {
  return {
    report_id: reportId('performance', evaluation.modelVersion, evaluation.windowStart),
    kind: 'performance',
    window_start: evaluation.windowStart,
    window_end: evaluation.windowEnd,
    model_version: evaluation.modelVersion,
    feature_set_version: evaluation.featureSetVersion,
    records: evaluation.scored,
    labelled: evaluation.labelled,
    features: [],
    score_js: null,
    realised_auc: evaluation.rocAuc,
    calibration_error: evaluation.calibrationError,
    breached: evaluation.breaches.length > 0,
    breaches: evaluation.breaches.map(breachName),
    created_at: createdAt,
    late_records: 0,
  }
}
