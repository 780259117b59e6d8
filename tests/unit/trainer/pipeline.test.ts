import { describe, expect, it } from 'vitest'
import { ChurnError } from '../../../core/errors.js'
import { readOnnxMetadata } from '../../../trainer/onnx/index.js'
import { isInsufficientData, resolveTrainingOptions, trainCandidates, type TrainingData } from '../../../trainer/pipeline/index.js'
import { nonlinearData } from './fixtures.js'

const day = 86_400_000
const t0 = Date.UTC(2026, 0, 5)
const options = resolveTrainingOptions({ gbdt: { numTrees: 40, numLeaves: 7, minSamplesLeaf: 20 }, minTrainingRows: 100 })

/** 3000 rows observed at ten weekly as-of times, 300 per time. */
function weekly(horizonDays: number, featureSetVersion = 'fs-test'): TrainingData {
  const { x, y } = nonlinearData(3_000, 4, 11)
  return {
    featureNames: ['a', 'b', 'c', 'd'],
    featureSetVersion,
    x,
    y,
    asOf: Float64Array.from({ length: x.rows }, (_, row) => t0 + (row % 10) * 7 * day),
    horizonDays,
  }
}

describe('training candidates', () => {
  it('holds out the most recent slice, purges rows whose horizon reaches into it, and passes a first model on the floors', () => {
    const data = weekly(14)
    const report = trainCandidates(data, options)
    // The last two weekly slices are the holdout; the slice a week before them sees into it through its 14-day label.
    expect(report.split).toMatchObject({ cutoff: t0 + 56 * day, holdoutRows: 600, purgedRows: 300, trainRows: 2_100 })
    expect(report.challenger.registration).toMatchObject({ modelType: 'gbdt', featureSetVersion: 'fs-test', trainingWindow: { from: t0, to: t0 + 42 * day + 14 * day } })
    expect(report.baseline.registration.modelType).toBe('logistic')
    expect(report.challenger.registration.metrics).toMatchObject({ roc_auc: report.challenger.holdout.rocAuc, holdout_rows: 600, train_rows: 2_100 })
    expect(report.challenger.holdout.rocAuc).toBeGreaterThan(0.75)
    expect(report.champion).toBeUndefined()
    expect(report.gate).toEqual({ pass: true, reasons: [expect.stringMatching(/no champion to beat/u)] })
    const metadata = readOnnxMetadata(report.challenger.registration.artifact)
    expect(metadata).toMatchObject({ modelType: 'gbdt', featureSetVersion: 'fs-test', featureNames: ['a', 'b', 'c', 'd'], dataHash: report.challenger.registration.dataHash })
    expect(metadata.referenceDistributions).toHaveLength(4)
  })

  it('scores the champion on the same holdout and rejects a challenger that does not beat it by the margin', () => {
    const data = weekly(7)
    const first = trainCandidates(data, options)
    const again = trainCandidates(data, options, { version: 'v1', artifact: first.challenger.registration.artifact })
    expect(again.champion).toMatchObject({ version: 'v1', comparable: true })
    if (again.champion?.comparable !== true) throw new Error('champion not scored')
    // Same data, same seed: the same model, byte for byte, so the champion scores what the challenger scores.
    expect(again.challenger.registration.artifact).toEqual(first.challenger.registration.artifact)
    expect(again.champion.holdout.rocAuc).toBeCloseTo(again.challenger.holdout.rocAuc, 6)
    expect(again.gate.pass).toBe(false)
    expect(again.gate.reasons).toEqual([expect.stringMatching(/does not beat the champion's/u)])
  })

  it('applies only the floors when the champion was trained on another feature set, and says so', () => {
    const other = trainCandidates(weekly(7, 'fs-old'), options)
    const report = trainCandidates(weekly(7), options, { version: 'v3', artifact: other.challenger.registration.artifact })
    expect(report.champion).toMatchObject({ version: 'v3', comparable: false })
    expect(report.champion?.comparable === false && report.champion.why).toMatch(/feature set fs-old, not fs-test/u)
    expect(report.gate.pass).toBe(true)
    expect(report.gate.reasons[0]).toMatch(/champion v3 cannot be scored on this holdout .* only the floors apply/u)
  })

  it('refuses data too thin to train on, with an error that says retrying cannot help', () => {
    const data = weekly(7)
    const labels = new Uint8Array(data.y.length)
    let caught: unknown
    try {
      trainCandidates({ ...data, y: labels }, options)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ChurnError)
    expect(isInsufficientData(caught)).toBe(true)
    expect((caught as ChurnError).canRetry).toBe(false)
    expect((caught as ChurnError).message).toMatch(/0 positive of 2400 training rows/u)
  })

  it('parses options once: GBDT fields over the pipeline defaults, an error naming a bad field', () => {
    const resolved = resolveTrainingOptions({ gbdt: { numTrees: 10 } })
    expect(resolved.gbdt).toMatchObject({ numTrees: 10, numLeaves: 15, validationFraction: 0.2 })
    expect(resolved.gate).toEqual({ minRocAuc: 0.65, maxCalibrationError: 0.1, minImprovement: 0.005 })
    expect(() => resolveTrainingOptions({ gate: { minRocAuc: 2 } })).toThrow(/gate\.minRocAuc/u)
    expect(() => resolveTrainingOptions({ gbdt: { numLeaves: 1 } })).toThrow(/numLeaves/u)
  })
})
