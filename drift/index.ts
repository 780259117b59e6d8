export { evaluatePerformance, evaluateWindow, breachName, performanceReport, reportId, windowReport, type EvaluationOptions } from './evaluation.js'
export { LabelTracker, type Cohort, type LabelOutcome, type LabelsSnapshot, type LabelTrackerOptions, type MaturedCohort } from './labels.js'
export { DriftMonitor, type CancellationInput, type DriftOutput, type DriftSnapshot } from './monitor.js'
export { driftOptionsSchema, driftThresholdsSchema, parseDriftOptions, type DriftOptions, type DriftOptionsInput, type DriftThresholds } from './options.js'
export { RetrainPolicy, evaluationTime, retrainRequestId, scheduleRequestId, type PolicyOutcome, type PolicySnapshot, type RetrainPolicyOptions } from './policy.js'
export { CATEGORICAL_FEATURES, CUMULATIVE_FEATURES, categoricalFeatureNames, cumulativeFeatureNames, driftReference, featureKind } from './reference.js'
export {
  PSI_EPSILON,
  binIndex,
  chiSquareSurvival,
  chiSquareTest,
  histogram,
  jensenShannon,
  ksStatistic,
  logGamma,
  psi,
  referenceProbabilities,
  regularizedGamma,
  scoreBin,
  scoreHistogram,
  type ChiSquareResult,
} from './statistics.js'
export type * from './types.js'
export {
  CohortSample,
  DriftWindows,
  TumblingWindows,
  WatermarkTracker,
  customerHash,
  type AddOutcome,
  type ClosedWindow,
  type CohortMembers,
  type DriftWindowsOptions,
  type EventWindow,
  type FeatureVectorInput,
  type RecordCounters,
  type ScoreAccumulation,
  type ScoreInput,
  type WatermarkSnapshot,
  type WindowAssigner,
  type WindowCounters,
  type WindowsSnapshot,
} from './windows.js'
