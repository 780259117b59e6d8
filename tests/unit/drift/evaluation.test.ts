import { describe, expect, it } from 'vitest'
import {
  CATEGORICAL_FEATURES,
  DriftWindows,
  driftReference,
  evaluatePerformance,
  evaluateWindow,
  featureKind,
  parseDriftOptions,
  performanceReport,
  windowReport,
  type ClosedWindow,
  type DriftOptions,
  type DriftReference,
  type MaturedCohort,
} from '../../../drift/index.js'
import { churnFeatures } from '../../../feature-store/declarations.js'
import { loadSchema } from '../../../schemas/avro.js'
import { referenceDistributions } from '../../../trainer/onnx/metadata.js'
import { HOUR, T0, referenceLikeValues, testOptions, testReference } from './fixtures.js'

function closedWindow(reference: DriftReference, values: (i: number) => number[], records: number, scores: number[] = []): ClosedWindow {
  const windows = new DriftWindows(testOptions(), reference)
  for (let i = 0; i < records; i++) windows.addFeatures('p', { customerId: `c${i}`, eventTime: T0 + i, featureSetVersion: reference.featureSetVersion, values: values(i) })
  scores.forEach((probability, i) => windows.addScore('p', { customerId: `c${i}`, eventTime: T0 + i, probability, modelVersion: reference.modelVersion }))
  windows.observe('p', T0 + 2 * HOUR)
  const [closed] = windows.takeClosed()
  if (closed === undefined) throw new Error('no window closed')
  return closed
}

const driftReportType = loadSchema('driftReport').type

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value')
  return value
}

describe('feature kinds', () => {
  it('treats the flags and codes of the churn feature set as categorical', () => {
    expect([...CATEGORICAL_FEATURES].sort()).toEqual([
      'contract_months', 'has_dependents', 'has_fiber', 'has_partner', 'is_month_to_month', 'is_senior', 'max_ticket_severity_90d',
      'paperless_billing', 'pays_by_electronic_check', 'worst_open_ticket_severity',
    ])
    expect(CATEGORICAL_FEATURES.every((name) => churnFeatures.some((feature) => feature.name === name))).toBe(true)
  })

  it('falls back on the number of reference bins for features not listed', () => {
    const options = { categoricalFeatures: ['plan'], categoricalMaxBins: 2 }
    expect(featureKind({ feature: 'plan', edges: [1, 2, 3, 4] }, options)).toBe('categorical')
    expect(featureKind({ feature: 'flag', edges: [0.5] }, options)).toBe('categorical')
    expect(featureKind({ feature: 'amount', edges: [1, 2] }, options)).toBe('numeric')
  })

  it('builds the reference from model metadata, in vector order, with the holdout metrics', () => {
    const values = new Float32Array([1, 0, 5, 2, 1, Number.NaN, 3, 0, 7, 4, 1, 9])
    const distributions = referenceDistributions({ rows: 4, cols: 3, values }, ['tenure_days', 'is_senior', 'charge'])
    const reference = driftReference('v7', {
      featureNames: ['tenure_days', 'is_senior', 'charge', 'no_reference'],
      featureSetVersion: 'fs-9',
      referenceDistributions: distributions,
      metrics: { roc_auc: 0.83, ece: 0.04 },
    }, testOptions())
    expect(reference.featureCount).toBe(4)
    expect(reference.features.map((feature) => [feature.name, feature.index, feature.kind])).toEqual([
      ['tenure_days', 0, 'numeric'], ['is_senior', 1, 'categorical'], ['charge', 2, 'numeric'],
    ])
    expect(reference.features[2]?.missingFraction).toBe(0.25)
    expect(reference).toMatchObject({ modelVersion: 'v7', featureSetVersion: 'fs-9', holdoutAuc: 0.83, holdoutCalibrationError: 0.04 })
    expect(reference.scoreFrequencies).toBeUndefined()
    expect(() => driftReference('v7', {
      featureNames: ['x'], featureSetVersion: 'fs', metrics: {},
      referenceDistributions: [{ feature: 'x', edges: [2, 1], frequencies: [0.2, 0.3, 0.5], missingFraction: 0, count: 3 }],
    }, testOptions())).toThrow(/increasing/u)
  })
})

describe('window evaluation', () => {
  const options: DriftOptions = testOptions()

  it('reports PSI and KS for numeric features, PSI and chi-square for categorical ones, and no breach without drift', () => {
    const evaluation = evaluateWindow(closedWindow(testReference(), referenceLikeValues, 400), testReference().scoreFrequencies, options)
    expect(evaluation?.records).toBe(400)
    expect(evaluation?.features.map((feature) => [feature.feature, feature.kind, feature.ks === null, feature.chiSquareP === null])).toEqual([
      ['tenure_days', 'numeric', false, true],
      ['is_senior', 'categorical', true, false],
      ['monthly_charge', 'numeric', false, true],
    ])
    expect(evaluation?.features[0]?.psi).toBeCloseTo(0, 12)
    expect(evaluation?.features[2]?.missingFraction).toBeCloseTo(0.1, 12)
    expect(evaluation?.breaches).toEqual([])
    expect(evaluation?.evaluable).toBe(true)
    const report = windowReport(defined(evaluation), 42)
    expect(driftReportType.isValid(report)).toBe(true)
    expect(report).toMatchObject({ report_id: 'drift:v1:2024-01-01T00:00:00.000Z', window_start: T0, window_end: T0 + HOUR, breached: false, labelled: 0, created_at: 42 })
  })

  it('breaches on a shifted feature once the window has enough records', () => {
    const shifted = (i: number): number[] => [35, ...referenceLikeValues(i).slice(1)]
    const evaluation = evaluateWindow(closedWindow(testReference(), shifted, 50), undefined, options)
    const tenure = evaluation?.features[0]
    expect(tenure?.ks).toBeCloseTo(0.75, 12)
    expect(tenure?.drifted).toBe(true)
    expect(evaluation?.breaches.map((breach) => `${breach.statistic}:${breach.feature ?? ''}`)).toEqual(['psi:tenure_days', 'ks:tenure_days'])
    const report = windowReport(defined(evaluation), 0)
    expect(report.breaches).toEqual(['psi:tenure_days', 'ks:tenure_days'])
    expect(driftReportType.isValid(report)).toBe(true)

    const tiny = evaluateWindow(closedWindow(testReference(), shifted, 5), undefined, options)
    expect(tiny?.features[0]?.psi).toBeGreaterThan(1)
    expect(tiny?.breaches).toEqual([])
    expect(tiny?.evaluable).toBe(false)

    const needsTwo = evaluateWindow(closedWindow(testReference(), shifted, 50), undefined, testOptions({ thresholds: { minDriftedFeatures: 2 } }))
    expect(needsTwo?.features[0]?.drifted).toBe(true)
    expect(needsTwo?.breaches).toEqual([])
  })

  it('reports the statistics of report-only features, by default the cumulative ones, without breaching on them', () => {
    expect(parseDriftOptions({}).reportOnlyFeatures).toEqual(['tenure_days', 'total_paid'])
    const shifted = (i: number): number[] => [35 + (i % 10), referenceLikeValues(i)[1] ?? 0, referenceLikeValues(i)[2] ?? 0]
    const evaluation = evaluateWindow(closedWindow(testReference(), shifted, 200), undefined, testOptions({ reportOnlyFeatures: ['tenure_days'] }))
    expect(evaluation?.features[0]?.psi).toBeGreaterThan(1)
    expect(evaluation?.features[0]?.drifted).toBe(false)
    expect(evaluation?.breaches).toEqual([])
  })

  it('tests categorical features by chi-square when a p-value threshold is set', () => {
    // 40 % seniors against 20 % in training.
    const seniors = (i: number): number[] => [referenceLikeValues(i)[0] ?? 0, i % 5 < 2 ? 1 : 0, 70]
    const evaluation = evaluateWindow(closedWindow(testReference(), seniors, 200), undefined, testOptions({ thresholds: { chiSquareP: 0.001, psi: null, ks: null } }))
    const senior = evaluation?.features[1]
    expect(senior?.chiSquareP).toBeLessThan(1e-6)
    expect(evaluation?.breaches.map((breach) => breach.statistic)).toEqual(['chi_square_p'])
  })

  it('compares the score distribution by Jensen-Shannon divergence', () => {
    const high = Array.from({ length: 20 }, () => 0.95)
    const evaluation = evaluateWindow(closedWindow(testReference(), referenceLikeValues, 0, high), testReference().scoreFrequencies, options)
    expect(evaluation?.features).toEqual([])
    expect(evaluation?.scores).toBe(20)
    expect(evaluation?.scoreJs).toBeGreaterThan(0.5)
    expect(evaluation?.breaches.map((breach) => breach.statistic)).toEqual(['score_js'])
    expect(evaluation?.evaluable).toBe(true)
    expect(evaluateWindow(closedWindow(testReference(), referenceLikeValues, 0, high), undefined, options)?.scoreJs).toBeNull()
  })
})

describe('performance evaluation', () => {
  const options = testOptions()
  const matured = (rocAuc: number | null, labelled = 100, positives = 20): MaturedCohort => ({
    cohort: {
      windowStart: T0, windowEnd: T0 + HOUR, modelVersion: 'v1', featureSetVersion: 'fs-1', scored: 150,
      members: { customers: [], probabilities: [], eventTimes: [] }, holdoutAuc: 0.8, holdoutCalibrationError: 0.02,
    },
    maturedAt: T0 + 3 * HOUR,
    labelled,
    positives,
    rocAuc,
    calibrationError: 0.05,
  })

  it('breaches when the realised AUC falls the threshold below the holdout AUC', () => {
    const evaluation = evaluatePerformance(matured(0.72), options)
    expect(evaluation.breaches).toEqual([{ statistic: 'auc_drop', feature: null, value: expect.closeTo(0.08, 12) as number, threshold: 0.05 }])
    expect(evaluatePerformance(matured(0.77), options).breaches).toEqual([])
    const report = performanceReport(evaluation, 7)
    expect(report).toMatchObject({ report_id: 'performance:v1:2024-01-01T00:00:00.000Z', records: 150, labelled: 100, realised_auc: 0.72, calibration_error: 0.05, features: [], breached: true, breaches: ['auc_drop'] })
    expect(driftReportType.isValid(report)).toBe(true)
  })

  it('does not judge a cohort with too few labels or positives', () => {
    expect(evaluatePerformance(matured(0.5, 5, 2), options).evaluable).toBe(false)
    expect(evaluatePerformance(matured(0.5, 100, 1), options).evaluable).toBe(false)
    expect(evaluatePerformance(matured(null, 100, 0), options).evaluable).toBe(false)
  })

  it('checks the calibration error rise when configured', () => {
    const evaluation = evaluatePerformance(matured(0.8), testOptions({ thresholds: { calibrationErrorRise: 0.02 } }))
    expect(evaluation.breaches.map((breach) => breach.statistic)).toEqual(['calibration_error_rise'])
  })
})
