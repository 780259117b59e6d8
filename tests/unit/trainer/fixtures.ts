import { SeededRandom } from '../../../trainer/dataset/index.js'
import type { Matrix } from '../../../trainer/dataset/index.js'

/** Rows whose label follows a nonlinear logistic function of the first two of `cols` features. */
export function nonlinearData(rows: number, cols: number, seed: number): { x: Matrix; y: Uint8Array; probability: Float64Array } {
  const random = new SeededRandom(seed)
  const values = new Float32Array(rows * cols)
  const y = new Uint8Array(rows)
  const probability = new Float64Array(rows)
  for (let row = 0; row < rows; row++) {
    for (let j = 0; j < cols; j++) values[row * cols + j] = random.normal()
    const a = values[row * cols] ?? 0
    const b = cols > 1 ? (values[row * cols + 1] ?? 0) : 0
    const logit = 2 * Math.sin(2 * a) + (b > 0.5 ? 1.5 : -0.5) + a * b
    probability[row] = 1 / (1 + Math.exp(-logit))
    y[row] = random.float() < (probability[row] ?? 0) ? 1 : 0
  }
  return { x: { rows, cols, values }, y, probability }
}

export function column(x: Matrix, j: number): number[] {
  return Array.from({ length: x.rows }, (_, row) => x.values[row * x.cols + j] ?? Number.NaN)
}
