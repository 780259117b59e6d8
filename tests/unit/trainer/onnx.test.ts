import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import type { Matrix } from '../../../trainer/dataset/index.js'
import { GbdtModel, trainGbdt, type GbdtOptionsInput } from '../../../trainer/gbdt/index.js'
import { trainLogistic } from '../../../trainer/logistic/index.js'
import {
  createOnnxSession,
  gbdtFromMetadata,
  gbdtToOnnx,
  hashTrainingData,
  loadOnnxMetadata,
  logisticToOnnx,
  readOnnxMetadata,
  referenceDistributions,
  runOnnx,
} from '../../../trainer/onnx/index.js'
import { nonlinearData } from './fixtures.js'

const folder = mkdtempSync(join(tmpdir(), 'trainer-onnx-test-'))
afterAll(() => { rmSync(folder, { recursive: true, force: true }) })

function names(cols: number): string[] {
  return Array.from({ length: cols }, (_, j) => `f${j}`)
}

/** Runs the artifact and checks probability (1e-5) and label against the trainer's own prediction. */
async function expectParity(bytes: Uint8Array, x: Matrix, predict: (x: Matrix) => { margin: Float64Array; probability: Float64Array }): Promise<void> {
  const session = await createOnnxSession(bytes)
  try {
    const output = await runOnnx(session, x)
    const ours = predict(x)
    for (let row = 0; row < x.rows; row++) {
      expect(Math.abs((output.probability[row] ?? Number.NaN) - (ours.probability[row] ?? Number.NaN))).toBeLessThanOrEqual(1e-5)
      const margin = ours.margin[row] ?? 0
      if (Math.abs(margin) > 1e-4) expect(output.label[row]).toBe(margin > 0 ? 1n : 0n)
    }
  } finally {
    await session.release()
  }
}

/** Rows that sit exactly on, just below and just above the model's thresholds, plus NaN: the float32 edge cases. */
function probeRows(model: GbdtModel, cols: number): Matrix {
  const perFeature: number[][] = Array.from({ length: cols }, () => [Number.NaN])
  for (const tree of model.trees) {
    tree.feature.forEach((feature, node) => {
      if ((tree.left[node] ?? -1) < 0) return
      const threshold = tree.threshold[node] ?? 0
      const step = Math.max(Math.abs(threshold) * 2 ** -23, 1e-38)
      perFeature[feature]?.push(threshold, Math.fround(threshold - step), Math.fround(threshold + step))
    })
  }
  const rows = Math.max(...perFeature.map((values) => values.length))
  const values = new Float32Array(rows * cols)
  for (let row = 0; row < rows; row++) {
    for (let j = 0; j < cols; j++) {
      const options = perFeature[j] ?? [Number.NaN]
      values[row * cols + j] = options[(row * (j + 1)) % options.length] ?? Number.NaN
    }
  }
  return { rows, cols, values }
}

const valueArbitrary = fc.oneof(
  { weight: 2, arbitrary: fc.constant(Number.NaN) },
  { weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 5, arbitrary: fc.float({ min: -1e4, max: 1e4, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e-40, 3.4e38) },
)

const datasetArbitrary = fc.integer({ min: 1, max: 5 }).chain((cols) =>
  fc.array(fc.tuple(fc.array(valueArbitrary, { minLength: cols, maxLength: cols }), fc.boolean()), { minLength: 12, maxLength: 120 }).map((rows) => {
    const values = Float32Array.from(rows.flatMap(([features]) => features))
    // Both classes always present.
    const y = Uint8Array.from(rows, ([, label], row) => (row === 0 ? 1 : row === 1 ? 0 : label ? 1 : 0))
    return { x: { rows: rows.length, cols, values }, y }
  }))

const gbdtOptionsArbitrary: fc.Arbitrary<GbdtOptionsInput> = fc.record({
  numTrees: fc.integer({ min: 1, max: 12 }),
  numLeaves: fc.integer({ min: 2, max: 16 }),
  maxDepth: fc.integer({ min: 1, max: 6 }),
  learningRate: fc.double({ min: 0.01, max: 1, noNaN: true }),
  lambdaL2: fc.double({ min: 0, max: 5, noNaN: true }),
  minSamplesLeaf: fc.integer({ min: 1, max: 8 }),
  minChildWeight: fc.constantFrom(0, 1e-3, 0.1),
  maxBins: fc.integer({ min: 2, max: 255 }),
  baggingFraction: fc.double({ min: 0.3, max: 1, noNaN: true }),
  featureFraction: fc.double({ min: 0.3, max: 1, noNaN: true }),
  scalePosWeight: fc.double({ min: 0.2, max: 5, noNaN: true }),
  seed: fc.integer(),
}, { requiredKeys: ['numTrees'] })

describe('ONNX export', () => {
  it('GBDT: onnxruntime probabilities equal the trainer to 1e-5 on random data, NaN and threshold values included', async () => {
    await fc.assert(fc.asyncProperty(datasetArbitrary, gbdtOptionsArbitrary, async (data, options) => {
      const { model } = trainGbdt(data, options)
      const bytes = gbdtToOnnx(model, { featureNames: names(data.x.cols), featureSetVersion: 'test' })
      await expectParity(bytes, data.x, (x) => model.predict(x))
      await expectParity(bytes, probeRows(model, data.x.cols), (x) => model.predict(x))
    }), { numRuns: 60, seed: 20_240_601 })
  }, 60_000)

  it('GBDT: parity on a realistic model of 200 trees', async () => {
    const data = nonlinearData(5_000, 8, 3)
    const { model } = trainGbdt(data, { numTrees: 200, learningRate: 0.1, baggingFraction: 0.8, featureFraction: 0.8 })
    await expectParity(gbdtToOnnx(model, { featureNames: names(8), featureSetVersion: 'test' }), data.x, (x) => model.predict(x))
  }, 30_000)

  it('GBDT: a model whose trees never split still scores its base rate', async () => {
    const x: Matrix = { rows: 40, cols: 2, values: new Float32Array(80).fill(1) }
    const y = Uint8Array.from({ length: 40 }, (_, row) => (row % 4 === 0 ? 1 : 0))
    const { model } = trainGbdt({ x, y }, { numTrees: 5 })
    expect(model.trees).toHaveLength(0)
    await expectParity(gbdtToOnnx(model, { featureNames: names(2), featureSetVersion: 'test' }), x, (rows) => model.predict(rows))
  })

  it('logistic baseline: onnxruntime probabilities equal the trainer to 1e-5 on random data with NaN', async () => {
    const finite = fc.oneof(
      { weight: 1, arbitrary: fc.constant(Number.NaN) },
      { weight: 4, arbitrary: fc.float({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true }) },
      { weight: 2, arbitrary: fc.integer({ min: -2, max: 2 }) },
    )
    const data = fc.integer({ min: 1, max: 6 }).chain((cols) =>
      fc.array(fc.tuple(fc.array(finite, { minLength: cols, maxLength: cols }), fc.boolean()), { minLength: 10, maxLength: 100 }).map((rows) => ({
        x: { rows: rows.length, cols, values: Float32Array.from(rows.flatMap(([features]) => features)) },
        y: Uint8Array.from(rows, ([, label], row) => (row === 0 ? 1 : row === 1 ? 0 : label ? 1 : 0)),
      })))
    const options = fc.record({ lambdaL2: fc.double({ min: 0.01, max: 10, noNaN: true }), scalePosWeight: fc.double({ min: 0.2, max: 5, noNaN: true }) })
    await fc.assert(fc.asyncProperty(data, options, async (dataset, settings) => {
      const { model } = trainLogistic(dataset, settings)
      await expectParity(logisticToOnnx(model, { featureNames: names(dataset.x.cols), featureSetVersion: 'test' }), dataset.x, (x) => model.predict(x))
    }), { numRuns: 60, seed: 20_240_602 })
  }, 60_000)

  it('writes metadata that reads back: features, versions, lineage, metrics, drift reference, trees', async () => {
    const data = nonlinearData(2_000, 3, 4)
    data.x.values[0] = Number.NaN
    const { model } = trainGbdt(data, { numTrees: 20 })
    const featureNames = ['tenure', 'charges', 'calls']
    const bytes = gbdtToOnnx(model, {
      featureNames,
      featureSetVersion: 'fs-3',
      trainingWindow: { start: '2024-01-01T00:00:00Z', end: '2024-03-31T00:00:00Z' },
      dataHash: hashTrainingData(data),
      params: { numTrees: 20 },
      metrics: { rocAuc: 0.9 },
      referenceDistributions: referenceDistributions(data.x, featureNames),
    })
    const path = join(folder, 'model.onnx')
    writeFileSync(path, bytes)
    const metadata = await loadOnnxMetadata(path)
    expect(metadata.modelType).toBe('gbdt')
    expect(metadata.featureNames).toEqual(featureNames)
    expect(metadata.featureSetVersion).toBe('fs-3')
    expect(metadata.trainingWindow).toEqual({ start: '2024-01-01T00:00:00Z', end: '2024-03-31T00:00:00Z' })
    expect(metadata.dataHash).toMatch(/^sha256:[0-9a-f]{64}$/u)
    expect(metadata.dataHash).toBe(hashTrainingData(data))
    expect(metadata.params).toEqual({ numTrees: 20 })
    expect(metadata.metrics).toEqual({ rocAuc: 0.9 })
    expect(metadata.baseScore).toBe(model.baseScore)
    const reference = metadata.referenceDistributions[0]
    expect(reference?.feature).toBe('tenure')
    expect(reference?.frequencies.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 9)
    expect(reference?.edges.length).toBe(9)
    expect(reference?.missingFraction).toBeCloseTo(1 / 2_000, 12)
    // The trees in the metadata are the trees in the graph: TreeSHAP can rely on them.
    const rebuilt = gbdtFromMetadata(metadata)
    expect(rebuilt.predictMargin(data.x)).toEqual(model.predictMargin(data.x))
    expect(metadata.trees?.trees[0]?.cover[0]).toBeGreaterThan(0)
  })

  it('keeps infinite thresholds through the JSON metadata', () => {
    // Feature 0 is constant except for NaN, whose rows are all positive: the only split is "value left, NaN right".
    const rows = 200
    const values = Float32Array.from({ length: rows }, (_, row) => (row % 2 === 0 ? Number.NaN : 5))
    const y = Uint8Array.from({ length: rows }, (_, row) => (row % 2 === 0 ? 1 : row % 10 === 1 ? 1 : 0))
    const { model } = trainGbdt({ x: { rows, cols: 1, values }, y }, { numTrees: 2 })
    expect(model.trees[0]?.threshold[0]).toBe(Number.POSITIVE_INFINITY)
    const metadata = readOnnxMetadata(gbdtToOnnx(model, { featureNames: ['f0'], featureSetVersion: 'test' }))
    expect(metadata.trees?.trees[0]?.threshold[0]).toBe(Number.POSITIVE_INFINITY)
  })

  it('rejects bytes that are not an artifact of the trainer', () => {
    expect(() => readOnnxMetadata(new Uint8Array([1, 2, 3, 4]))).toThrow()
    const { model } = trainLogistic(nonlinearData(200, 2, 1))
    expect(() => logisticToOnnx(model, { featureNames: ['one'], featureSetVersion: 'x' })).toThrow(/feature names/u)
  })
})
