import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../../../trainer/dataset/index.js'
import { trainLogistic } from '../../../trainer/logistic/index.js'

function logisticData(rows: number, seed: number) {
  const random = new SeededRandom(seed)
  const values = new Float32Array(rows * 3)
  const y = new Uint8Array(rows)
  for (let row = 0; row < rows; row++) {
    const a = random.normal()
    const b = 10 + 5 * random.normal()
    const c = random.normal()
    values.set([a, b, c], row * 3)
    const margin = -0.5 + 1.5 * a - 0.4 * (b - 10) + 0 * c
    y[row] = random.float() < 1 / (1 + Math.exp(-margin)) ? 1 : 0
  }
  return { x: { rows, cols: 3, values }, y }
}

describe('logistic baseline', () => {
  it('converges to the generating coefficients (on the standardised scale) with a weak penalty', () => {
    const data = logisticData(20_000, 1)
    const result = trainLogistic(data, { lambdaL2: 1e-3 })
    expect(result.converged).toBe(true)
    expect(result.iterations).toBeLessThan(15)
    const { model } = result
    // Back to the raw scale: coefficient * (1 / sd).
    const raw = Array.from(model.coefficients, (coefficient, j) => coefficient * (model.scales[j] ?? 1))
    expect(raw[0]).toBeCloseTo(1.5, 1)
    expect(raw[1]).toBeCloseTo(-0.4, 1)
    expect(Math.abs(raw[2] ?? 1)).toBeLessThan(0.05)
  })

  it('is deterministic and shrinks coefficients as lambda grows', () => {
    const data = logisticData(2_000, 2)
    const a = trainLogistic(data).model.toStructure()
    expect(trainLogistic(data).model.toStructure()).toEqual(a)
    const strong = trainLogistic(data, { lambdaL2: 1_000 }).model
    const norm = (values: ArrayLike<number>) => Math.hypot(...Array.from(values))
    expect(norm(strong.coefficients)).toBeLessThan(norm(a.coefficients) / 2)
  })

  it('imputes missing values with the training mean', () => {
    const data = logisticData(2_000, 3)
    data.x.values[0] = Number.NaN
    const { model } = trainLogistic(data)
    const missing = model.predictMargin({ rows: 1, cols: 3, values: Float32Array.from([Number.NaN, 10, 0]) })
    const atMean = model.predictMargin({ rows: 1, cols: 3, values: Float32Array.from([model.means[0] ?? 0, 10, 0]) })
    expect(missing[0]).toBeCloseTo(atMean[0] ?? Number.NaN, 6)
    expect(Number.isFinite(model.means[0])).toBe(true)
  })

  it('weights positives up with scalePosWeight', () => {
    const data = logisticData(2_000, 4)
    const plain = trainLogistic(data).model
    const weighted = trainLogistic(data, { scalePosWeight: 4 }).model
    expect(weighted.intercept).toBeGreaterThan(plain.intercept + 1)
  })
})
