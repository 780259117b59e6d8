export type { BinaryReport, ConfusionMatrix, CostThreshold, ThresholdMetrics } from './types.js'
export {
  averagePrecision,
  brierScore,
  confusionMatrix,
  evaluateBinary,
  expectedCalibrationError,
  liftAtTop,
  logLoss,
  maxF1Threshold,
  meanAndSd,
  minCostThreshold,
  rocAuc,
  thresholdMetrics,
} from './metrics.js'
export { foldSplit, stratifiedHoldout, stratifiedKFold, timeHoldoutSplit, type HoldoutSplit, type Timestamp } from './splits.js'
