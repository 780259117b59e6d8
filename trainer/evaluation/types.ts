/** Counts at a threshold: a row is predicted positive when its score is >= the threshold. */
export interface ConfusionMatrix {
  readonly truePositive: number
  readonly falsePositive: number
  readonly trueNegative: number
  readonly falseNegative: number
}

export interface ThresholdMetrics extends ConfusionMatrix {
  readonly threshold: number
  readonly precision: number
  readonly recall: number
  readonly f1: number
}

export interface CostThreshold {
  readonly threshold: number
  /** Total cost at the threshold: falsePositive * falsePositiveCost + falseNegative * falseNegativeCost. */
  readonly cost: number
}

/** The standard report of a binary classifier on one labelled set. */
export interface BinaryReport {
  readonly rows: number
  readonly positiveRate: number
  readonly rocAuc: number
  readonly prAuc: number
  readonly logLoss: number
  readonly brier: number
  readonly ece: number
  readonly liftTopDecile: number
  /** Metrics at the threshold that maximises F1 on this set. */
  readonly bestF1: ThresholdMetrics
}
