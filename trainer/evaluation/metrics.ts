import { ChurnError, ErrorCodes } from '../../core/errors.js'
import type { BinaryReport, ConfusionMatrix, CostThreshold, ThresholdMetrics } from './types.js'

function check(labels: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (labels.length !== scores.length) {
    throw new ChurnError(ErrorCodes.VALIDATION, `${labels.length} labels but ${scores.length} scores`)
  }
  if (labels.length === 0) throw new ChurnError(ErrorCodes.VALIDATION, 'no rows to evaluate')
}

/**
 * Groups of rows with equal score, highest score first, with the positives and negatives of each group.
 * Every ranking metric walks these groups, which is what handles ties correctly.
 */
interface ScoreGroups {
  readonly score: Float64Array
  readonly positives: Float64Array
  readonly negatives: Float64Array
  readonly totalPositives: number
  readonly totalNegatives: number
}

function scoreGroups(labels: ArrayLike<number>, scores: ArrayLike<number>): ScoreGroups {
  check(labels, scores)
  const order = Int32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0))
  const score: number[] = []
  const positives: number[] = []
  const negatives: number[] = []
  let totalPositives = 0
  for (const row of order) {
    const value = scores[row] ?? 0
    if (Number.isNaN(value)) throw new ChurnError(ErrorCodes.VALIDATION, `score of row ${row} is NaN`)
    const positive = labels[row] === 1 ? 1 : 0
    totalPositives += positive
    if (score.length > 0 && score[score.length - 1] === value) {
      positives[positives.length - 1] = (positives[positives.length - 1] ?? 0) + positive
      negatives[negatives.length - 1] = (negatives[negatives.length - 1] ?? 0) + 1 - positive
    } else {
      score.push(value)
      positives.push(positive)
      negatives.push(1 - positive)
    }
  }
  return {
    score: Float64Array.from(score),
    positives: Float64Array.from(positives),
    negatives: Float64Array.from(negatives),
    totalPositives,
    totalNegatives: scores.length - totalPositives,
  }
}

/** Area under the ROC curve; tied scores count one half (the trapezoid through the tie). NaN when a class is absent. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const groups = scoreGroups(labels, scores)
  if (groups.totalPositives === 0 || groups.totalNegatives === 0) return Number.NaN
  let area = 0
  let negativesBelow = groups.totalNegatives
  groups.score.forEach((_, k) => {
    const positives = groups.positives[k] ?? 0
    const negatives = groups.negatives[k] ?? 0
    negativesBelow -= negatives
    area += positives * (negativesBelow + negatives / 2)
  })
  return area / (groups.totalPositives * groups.totalNegatives)
}

/**
 * Average precision (area under the precision-recall curve, step-wise): the sum over distinct thresholds of
 * (recall gained) x (precision there), as scikit-learn computes it. NaN without positives.
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const groups = scoreGroups(labels, scores)
  if (groups.totalPositives === 0) return Number.NaN
  let truePositives = 0
  let predicted = 0
  let sum = 0
  groups.score.forEach((_, k) => {
    const positives = groups.positives[k] ?? 0
    truePositives += positives
    predicted += positives + (groups.negatives[k] ?? 0)
    sum += (positives / groups.totalPositives) * (truePositives / predicted)
  })
  return sum
}

/** Mean negative log-likelihood of probabilities, clipped to [1e-15, 1 - 1e-15]. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  check(labels, probabilities)
  let total = 0
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, probabilities[i] ?? 0))
    total -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p)
  }
  return total / labels.length
}

/** Mean squared error of probabilities. */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  check(labels, probabilities)
  let total = 0
  for (let i = 0; i < labels.length; i++) total += ((probabilities[i] ?? 0) - (labels[i] === 1 ? 1 : 0)) ** 2
  return total / labels.length
}

/** Counts at a threshold (score >= threshold is predicted positive). */
export function confusionMatrix(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): ConfusionMatrix {
  check(labels, scores)
  let truePositive = 0
  let falsePositive = 0
  let trueNegative = 0
  let falseNegative = 0
  for (let i = 0; i < labels.length; i++) {
    const predicted = (scores[i] ?? 0) >= threshold
    if (labels[i] === 1) {
      if (predicted) truePositive++
      else falseNegative++
    } else if (predicted) falsePositive++
    else trueNegative++
  }
  return { truePositive, falsePositive, trueNegative, falseNegative }
}

function withRates(matrix: ConfusionMatrix, threshold: number): ThresholdMetrics {
  const { truePositive, falsePositive, falseNegative } = matrix
  const precision = truePositive + falsePositive === 0 ? 0 : truePositive / (truePositive + falsePositive)
  const recall = truePositive + falseNegative === 0 ? 0 : truePositive / (truePositive + falseNegative)
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
  return { ...matrix, threshold, precision, recall, f1 }
}

/** Precision, recall and F1 (with the confusion matrix) at a threshold; 0 where undefined. */
export function thresholdMetrics(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): ThresholdMetrics {
  return withRates(confusionMatrix(labels, scores, threshold), threshold)
}

/** The confusion matrix at each distinct score used as threshold, highest first. */
function sweep(labels: ArrayLike<number>, scores: ArrayLike<number>, visit: (matrix: ConfusionMatrix, threshold: number) => void): void {
  const groups = scoreGroups(labels, scores)
  let truePositive = 0
  let falsePositive = 0
  // Threshold above every score: nothing predicted positive.
  visit({ truePositive: 0, falsePositive: 0, trueNegative: groups.totalNegatives, falseNegative: groups.totalPositives }, Number.POSITIVE_INFINITY)
  groups.score.forEach((threshold, k) => {
    truePositive += groups.positives[k] ?? 0
    falsePositive += groups.negatives[k] ?? 0
    visit({
      truePositive,
      falsePositive,
      trueNegative: groups.totalNegatives - falsePositive,
      falseNegative: groups.totalPositives - truePositive,
    }, threshold)
  })
}

/** The threshold with the highest F1 (the highest such threshold on ties). */
export function maxF1Threshold(labels: ArrayLike<number>, scores: ArrayLike<number>): ThresholdMetrics {
  let best: ThresholdMetrics | undefined
  sweep(labels, scores, (matrix, threshold) => {
    const metrics = withRates(matrix, threshold)
    if (best === undefined || metrics.f1 > best.f1) best = metrics
  })
  return best ?? withRates({ truePositive: 0, falsePositive: 0, trueNegative: 0, falseNegative: 0 }, Number.POSITIVE_INFINITY)
}

/** The threshold with the lowest total cost of errors (the highest such threshold on ties). */
export function minCostThreshold(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  costs: { readonly falsePositiveCost: number; readonly falseNegativeCost: number },
): CostThreshold {
  if (!(costs.falsePositiveCost >= 0 && costs.falseNegativeCost >= 0)) {
    throw new ChurnError(ErrorCodes.VALIDATION, 'costs: falsePositiveCost and falseNegativeCost must be >= 0')
  }
  let best: CostThreshold = { threshold: Number.POSITIVE_INFINITY, cost: Number.POSITIVE_INFINITY }
  sweep(labels, scores, (matrix, threshold) => {
    const cost = matrix.falsePositive * costs.falsePositiveCost + matrix.falseNegative * costs.falseNegativeCost
    if (cost < best.cost) best = { threshold, cost }
  })
  return best
}

/**
 * Expected calibration error: rows fall into `bins` equal-width probability bins (p = 1 in the last); ECE is the
 * row-weighted mean of |observed positive rate - mean predicted probability| over the bins.
 */
export function expectedCalibrationError(labels: ArrayLike<number>, probabilities: ArrayLike<number>, bins = 10): number {
  check(labels, probabilities)
  const count = new Float64Array(bins)
  const positives = new Float64Array(bins)
  const predicted = new Float64Array(bins)
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i] ?? 0
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)))
    count[bin] = (count[bin] ?? 0) + 1
    positives[bin] = (positives[bin] ?? 0) + (labels[i] === 1 ? 1 : 0)
    predicted[bin] = (predicted[bin] ?? 0) + p
  }
  let error = 0
  count.forEach((n, bin) => {
    if (n > 0) error += Math.abs((positives[bin] ?? 0) - (predicted[bin] ?? 0)) / labels.length
  })
  return error
}

/**
 * Lift in the top `fraction` of rows by score: their positive rate over the overall positive rate. A tie group that
 * straddles the cut counts in proportion to the part of it inside, so row order never matters.
 */
export function liftAtTop(labels: ArrayLike<number>, scores: ArrayLike<number>, fraction = 0.1): number {
  const groups = scoreGroups(labels, scores)
  if (groups.totalPositives === 0) return Number.NaN
  const wanted = fraction * labels.length
  let taken = 0
  let positives = 0
  for (let k = 0; k < groups.score.length && taken < wanted; k++) {
    const size = (groups.positives[k] ?? 0) + (groups.negatives[k] ?? 0)
    const share = Math.min(1, (wanted - taken) / size)
    taken += share * size
    positives += share * (groups.positives[k] ?? 0)
  }
  return positives / taken / (groups.totalPositives / labels.length)
}

/** Every standard metric of a binary classifier on one labelled set. */
export function evaluateBinary(labels: ArrayLike<number>, probabilities: ArrayLike<number>): BinaryReport {
  check(labels, probabilities)
  const positives = Array.from(labels).filter((label) => label === 1).length
  return {
    rows: labels.length,
    positiveRate: positives / labels.length,
    rocAuc: rocAuc(labels, probabilities),
    prAuc: averagePrecision(labels, probabilities),
    logLoss: logLoss(labels, probabilities),
    brier: brierScore(labels, probabilities),
    ece: expectedCalibrationError(labels, probabilities),
    liftTopDecile: liftAtTop(labels, probabilities, 0.1),
    bestF1: maxF1Threshold(labels, probabilities),
  }
}

/** Mean and sample standard deviation. */
export function meanAndSd(values: readonly number[]): { readonly mean: number; readonly sd: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length
  const variance = values.length > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1) : 0
  return { mean, sd: Math.sqrt(variance) }
}
