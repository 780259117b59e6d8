import type { LogisticStructure } from '../../trainer/logistic/types.js'

/**
 * Exact Shapley values of a logistic model in log-odds: with the margin linear in standardised
 * features, feature j contributes coefficient_j * (x_j - mean_j) * scale_j against the expected value
 * (the intercept, the margin at the training means). A missing value sits at the mean: zero.
 */
export class LinearExplainer {
  readonly expectedValue: number
  readonly #weights: Float64Array
  readonly #means: Float64Array

  constructor(structure: LogisticStructure) {
    this.expectedValue = structure.intercept
    this.#weights = Float64Array.from(structure.coefficients, (coefficient, j) => coefficient * (structure.scales[j] ?? 1))
    this.#means = Float64Array.from(structure.means)
  }

  contributions(row: ArrayLike<number>): Float64Array {
    const out = new Float64Array(this.#weights.length)
    for (let j = 0; j < out.length; j++) {
      const value = row[j] ?? Number.NaN
      out[j] = Number.isNaN(value) ? 0 : (this.#weights[j] ?? 0) * (value - (this.#means[j] ?? 0))
    }
    return out
  }
}
