import { describe, expect, it } from 'vitest'
import {
  averagePrecision,
  brierScore,
  confusionMatrix,
  evaluateBinary,
  expectedCalibrationError,
  foldSplit,
  liftAtTop,
  logLoss,
  maxF1Threshold,
  meanAndSd,
  minCostThreshold,
  rocAuc,
  stratifiedHoldout,
  stratifiedKFold,
  thresholdMetrics,
  timeHoldoutSplit,
} from '../../../trainer/evaluation/index.js'

// Three positives and three negatives with two ties across the classes (0.9 and 0.3).
const labels = [1, 0, 1, 0, 1, 0]
const scores = [0.9, 0.9, 0.7, 0.3, 0.3, 0.1]

describe('ranking metrics', () => {
  it('ROC-AUC counts a tie between a positive and a negative as one half', () => {
    // Pairs: 0.9 vs (0.9, 0.3, 0.1) = 0.5 + 1 + 1; 0.7 vs ... = 0 + 1 + 1; 0.3 vs ... = 0 + 0.5 + 1 -> 6 of 9.
    expect(rocAuc(labels, scores)).toBeCloseTo(6 / 9, 12)
    expect(rocAuc([1, 0], [0.5, 0.5])).toBe(0.5)
    expect(rocAuc([1, 1, 0], [0.2, 0.9, 0.1])).toBe(1)
    expect(rocAuc([1, 1], [0.2, 0.9])).toBeNaN()
  })

  it('does not depend on the order of tied rows', () => {
    expect(rocAuc([0, 1, 0, 1, 1, 0], [0.9, 0.9, 0.3, 0.7, 0.3, 0.1])).toBeCloseTo(6 / 9, 12)
  })

  it('average precision sums recall steps times precision at each distinct threshold', () => {
    // 0.9: P 1/2 R 1/3; 0.7: P 2/3 R 2/3; 0.3: P 3/5 R 1; 0.1: no recall gained.
    expect(averagePrecision(labels, scores)).toBeCloseTo((1 / 3) * (1 / 2) + (1 / 3) * (2 / 3) + (1 / 3) * (3 / 5), 12)
  })

  it('lift in the top decile, splitting a tie group that straddles the cut', () => {
    const tenLabels = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    expect(liftAtTop(tenLabels, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1])).toBeCloseTo(5, 12)
    // The top row is a tie of a positive and a negative: half a positive in one row, over a base rate of 0.2.
    expect(liftAtTop([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], [9, 9, 1, 1, 1, 1, 1, 1, 1, 1])).toBeCloseTo(2.5, 12)
  })
})

describe('probability metrics', () => {
  it('log loss and Brier score', () => {
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12)
    expect(brierScore([1, 0], [0.8, 0.4])).toBeCloseTo(0.1, 12)
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-15), 6)
  })

  it('expected calibration error over ten equal-width bins', () => {
    // Bins 9: {0.9 y1, 0.9 y0}; 7: {0.7 y1}; 3: {0.3 y0, 0.3 y1}; 1: {0.1 y0}.
    const expected = (Math.abs(1 - 1.8) + Math.abs(1 - 0.7) + Math.abs(1 - 0.6) + Math.abs(0 - 0.1)) / 6
    expect(expectedCalibrationError(labels, scores)).toBeCloseTo(expected, 12)
    expect(expectedCalibrationError([1, 0, 1, 0], [1, 0, 1, 0])).toBe(0)
  })
})

describe('threshold metrics', () => {
  it('confusion matrix, precision, recall and F1 at a threshold (score >= threshold is positive)', () => {
    expect(confusionMatrix(labels, scores, 0.5)).toEqual({ truePositive: 2, falsePositive: 1, trueNegative: 2, falseNegative: 1 })
    const metrics = thresholdMetrics(labels, scores, 0.7)
    expect(metrics.precision).toBeCloseTo(2 / 3, 12)
    expect(metrics.recall).toBeCloseTo(2 / 3, 12)
    expect(metrics.f1).toBeCloseTo(2 / 3, 12)
    expect(thresholdMetrics(labels, scores, 2).f1).toBe(0)
  })

  it('picks the threshold with the best F1', () => {
    const best = maxF1Threshold(labels, scores)
    expect(best.threshold).toBe(0.3)
    expect(best.f1).toBeCloseTo(0.75, 12)
  })

  it('picks the threshold with the lowest cost of errors', () => {
    expect(minCostThreshold(labels, scores, { falsePositiveCost: 1, falseNegativeCost: 5 })).toEqual({ threshold: 0.3, cost: 2 })
    expect(minCostThreshold(labels, scores, { falsePositiveCost: 10, falseNegativeCost: 1 })).toEqual({ threshold: Number.POSITIVE_INFINITY, cost: 3 })
  })

  it('reports everything at once', () => {
    const report = evaluateBinary(labels, scores)
    expect(report.rocAuc).toBeCloseTo(6 / 9, 12)
    expect(report.positiveRate).toBe(0.5)
    expect(report.bestF1.threshold).toBe(0.3)
  })

  it('mean and sample standard deviation', () => {
    const { mean, sd } = meanAndSd([1, 2, 3, 4])
    expect(mean).toBe(2.5)
    expect(sd).toBeCloseTo(Math.sqrt(5 / 3), 12)
  })
})

describe('splits', () => {
  const y = Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? 1 : 0))

  it('stratified k-fold keeps the class balance in every fold and is seeded', () => {
    const folds = stratifiedKFold(y, 5, 42)
    for (let fold = 0; fold < 5; fold++) {
      const { holdout, train } = foldSplit(folds, fold)
      expect(holdout.length).toBe(20)
      expect(train.length).toBe(80)
      expect(Array.from(holdout).filter((row) => y[row] === 1)).toHaveLength(2)
    }
    expect(stratifiedKFold(y, 5, 42)).toEqual(folds)
    expect(stratifiedKFold(y, 5, 43)).not.toEqual(folds)
    expect(() => stratifiedKFold(y, 1, 0)).toThrow(/folds/u)
  })

  it('stratified holdout takes the fraction from each class', () => {
    const split = stratifiedHoldout(y, 0.2, 1)
    expect(split.holdout.length).toBe(20)
    expect(Array.from(split.holdout).filter((row) => y[row] === 1)).toHaveLength(2)
  })

  it('time holdout takes the most recent rows and never splits one instant', () => {
    const times = ['2024-01-05', '2024-01-01', '2024-01-09', '2024-01-09', '2024-01-03', '2024-01-07', '2024-01-02', '2024-01-04', '2024-01-06', '2024-01-08']
    const split = timeHoldoutSplit(times, 0.1)
    // 10 % is one row, but the latest instant has two: both are held out.
    expect(Array.from(split.holdout)).toEqual([2, 3])
    expect(split.cutoff).toBe(Date.parse('2024-01-09'))
    const larger = timeHoldoutSplit(times.map((time) => new Date(time)), 0.3)
    expect(Array.from(larger.holdout)).toEqual([2, 3, 9])
    expect(() => timeHoldoutSplit(['2024-01-01', 'soon'], 0.5)).toThrow(/row 1/u)
  })
})
