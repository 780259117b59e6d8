import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { binaryLabels, sampleWeights } from '../dataset/matrix.js'
import type { BinaryDataset, BinaryPrediction, Matrix } from '../dataset/types.js'
import { resolveLogisticOptions, type LogisticOptions, type LogisticOptionsInput } from './options.js'
import type { LogisticStructure } from './types.js'

export class LogisticModel {
  readonly intercept: number
  readonly coefficients: Float64Array
  readonly means: Float64Array
  readonly scales: Float64Array

  constructor(structure: LogisticStructure) {
    const width = structure.coefficients.length
    if (structure.means.length !== width || structure.scales.length !== width) {
      throw new ChurnError(ErrorCodes.VALIDATION, 'logistic structure: coefficients, means and scales must have the same length')
    }
    this.intercept = Math.fround(structure.intercept)
    this.coefficients = Float64Array.from(structure.coefficients, Math.fround)
    this.means = Float64Array.from(structure.means, Math.fround)
    this.scales = Float64Array.from(structure.scales, Math.fround)
  }

  get featureCount(): number {
    return this.coefficients.length
  }

  predictMargin(x: Matrix): Float64Array {
    if (x.cols !== this.featureCount) {
      throw new ChurnError(ErrorCodes.VALIDATION, `model expects ${this.featureCount} features, got ${x.cols}`)
    }
    const margin = new Float64Array(x.rows)
    for (let row = 0; row < x.rows; row++) {
      let sum = this.intercept
      for (let j = 0; j < x.cols; j++) {
        const value = x.values[row * x.cols + j] ?? Number.NaN
        if (!Number.isNaN(value)) sum += (this.coefficients[j] ?? 0) * ((value - (this.means[j] ?? 0)) * (this.scales[j] ?? 1))
      }
      margin[row] = sum
    }
    return margin
  }

  predict(x: Matrix): BinaryPrediction {
    const margin = this.predictMargin(x)
    return { margin, probability: margin.map((m) => 1 / (1 + Math.exp(-m))) }
  }

  predictProbability(x: Matrix): Float64Array {
    return this.predict(x).probability
  }

  toStructure(): LogisticStructure {
    return {
      intercept: this.intercept,
      coefficients: Array.from(this.coefficients),
      means: Array.from(this.means),
      scales: Array.from(this.scales),
    }
  }
}

export interface LogisticTrainingResult {
  readonly model: LogisticModel
  readonly options: LogisticOptions
  readonly iterations: number
  readonly converged: boolean
}

/**
 * Fits L2-regularised logistic regression by Newton's method (IRLS) on standardised features, NaN imputed with the
 * training mean. The problem is strictly convex for lambda > 0, so the result does not depend on any seed.
 */
export function trainLogistic(train: BinaryDataset, options: LogisticOptionsInput = {}): LogisticTrainingResult {
  const resolved = resolveLogisticOptions(options)
  const { x } = train
  const labels = binaryLabels(train.y, x.rows)
  const weights = sampleWeights(train.weights, x.rows)
  if (resolved.scalePosWeight !== 1) labels.forEach((label, row) => { if (label === 1) weights[row] = (weights[row] ?? 0) * resolved.scalePosWeight })
  const { means, scales } = standardisation(x)
  const width = x.cols + 1
  // Standardised design with a leading column of ones, row-major.
  const design = new Float64Array(x.rows * width)
  for (let row = 0; row < x.rows; row++) {
    design[row * width] = 1
    for (let j = 0; j < x.cols; j++) {
      const value = x.values[row * x.cols + j] ?? Number.NaN
      design[row * width + j + 1] = Number.isNaN(value) ? 0 : (value - (means[j] ?? 0)) * (scales[j] ?? 1)
    }
  }
  let positive = 0
  let total = 0
  labels.forEach((label, row) => {
    total += weights[row] ?? 0
    if (label === 1) positive += weights[row] ?? 0
  })
  if (!(positive > 0 && positive < total)) throw new ChurnError(ErrorCodes.VALIDATION, 'training needs rows (with weight) of both classes')

  const beta = new Float64Array(width)
  beta[0] = Math.log(positive / (total - positive))
  const lambda = resolved.lambdaL2
  let objective = penalisedLoss(design, labels, weights, beta, lambda)
  let iterations = 0
  let converged = false
  while (iterations < resolved.maxIterations && !converged) {
    iterations++
    const { gradient, hessian } = derivatives(design, labels, weights, beta, lambda)
    const step = solveSymmetric(hessian, gradient, width)
    // Newton step with halving: a full step can overshoot when classes are nearly separable.
    let scale = 1
    let candidate = beta.map((value, k) => value - (step[k] ?? 0))
    let candidateObjective = penalisedLoss(design, labels, weights, candidate, lambda)
    while (candidateObjective > objective && scale > 1e-10) {
      scale /= 2
      candidate = beta.map((value, k) => value - scale * (step[k] ?? 0))
      candidateObjective = penalisedLoss(design, labels, weights, candidate, lambda)
    }
    const largest = step.reduce((max, value) => Math.max(max, Math.abs(scale * value)), 0)
    if (candidateObjective <= objective) {
      beta.set(candidate)
      objective = candidateObjective
    }
    // A convex objective that no fraction of the Newton step lowers is at its optimum to floating-point precision.
    converged = largest < resolved.tolerance || candidateObjective > objective
  }
  const model = new LogisticModel({
    intercept: beta[0],
    coefficients: Array.from(beta.subarray(1)),
    means: Array.from(means),
    scales: Array.from(scales),
  })
  return { model, options: resolved, iterations, converged }
}

/** Float32 means and inverse standard deviations (the precision the artifact stores them in). */
function standardisation(x: Matrix): { means: Float64Array; scales: Float64Array } {
  const means = new Float64Array(x.cols)
  const scales = new Float64Array(x.cols)
  for (let j = 0; j < x.cols; j++) {
    let count = 0
    let mean = 0
    let m2 = 0
    for (let row = 0; row < x.rows; row++) {
      const value = x.values[row * x.cols + j] ?? Number.NaN
      if (Number.isNaN(value)) continue
      if (!Number.isFinite(value)) {
        throw new ChurnError(ErrorCodes.VALIDATION, `logistic regression: feature ${j} of row ${row} is ${value}; expected a finite number or NaN`)
      }
      count++
      const delta = value - mean
      mean += delta / count
      m2 += delta * (value - mean)
    }
    const sd = count > 1 ? Math.sqrt(m2 / (count - 1)) : 0
    means[j] = Math.fround(count > 0 ? mean : 0)
    scales[j] = Math.fround(sd > 1e-12 && Number.isFinite(sd) ? 1 / sd : 1)
  }
  return { means, scales }
}

function penalisedLoss(design: Float64Array, labels: Uint8Array, weights: Float64Array, beta: Float64Array, lambda: number): number {
  const width = beta.length
  let loss = 0
  for (let row = 0; row < labels.length; row++) {
    let margin = 0
    for (let k = 0; k < width; k++) margin += (design[row * width + k] ?? 0) * (beta[k] ?? 0)
    const z = labels[row] === 1 ? -margin : margin
    loss += (weights[row] ?? 0) * (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)))
  }
  let penalty = 0
  for (let k = 1; k < width; k++) penalty += (beta[k] ?? 0) ** 2
  return loss + (lambda / 2) * penalty
}

function derivatives(design: Float64Array, labels: Uint8Array, weights: Float64Array, beta: Float64Array, lambda: number): { gradient: Float64Array; hessian: Float64Array } {
  const width = beta.length
  const gradient = new Float64Array(width)
  const hessian = new Float64Array(width * width)
  for (let row = 0; row < labels.length; row++) {
    const offset = row * width
    let margin = 0
    for (let k = 0; k < width; k++) margin += (design[offset + k] ?? 0) * (beta[k] ?? 0)
    const p = 1 / (1 + Math.exp(-margin))
    const weight = weights[row] ?? 0
    const residual = weight * (p - (labels[row] ?? 0))
    const curvature = weight * p * (1 - p)
    for (let a = 0; a < width; a++) {
      const xa = design[offset + a] ?? 0
      gradient[a] = (gradient[a] ?? 0) + residual * xa
      const scaled = curvature * xa
      for (let b = 0; b <= a; b++) hessian[a * width + b] = (hessian[a * width + b] ?? 0) + scaled * (design[offset + b] ?? 0)
    }
  }
  for (let a = 0; a < width; a++) {
    for (let b = 0; b < a; b++) hessian[b * width + a] = hessian[a * width + b] ?? 0
    if (a > 0) {
      gradient[a] = (gradient[a] ?? 0) + lambda * (beta[a] ?? 0)
      hessian[a * width + a] = (hessian[a * width + a] ?? 0) + lambda
    }
  }
  return { gradient, hessian }
}

/** Solves H s = g for a symmetric positive (semi-)definite H by Cholesky, with a small ridge if H is singular. */
function solveSymmetric(hessian: Float64Array, gradient: Float64Array, n: number): Float64Array {
  for (let ridge = 0; ridge <= 1e-2; ridge = ridge === 0 ? 1e-10 : ridge * 100) {
    const lower = new Float64Array(n * n)
    let ok = true
    for (let i = 0; i < n && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = (hessian[i * n + j] ?? 0) + (i === j ? ridge : 0)
        for (let k = 0; k < j; k++) sum -= (lower[i * n + k] ?? 0) * (lower[j * n + k] ?? 0)
        if (i === j) {
          if (!(sum > 0)) {
            ok = false
            break
          }
          lower[i * n + i] = Math.sqrt(sum)
        } else {
          lower[i * n + j] = sum / (lower[j * n + j] ?? 1)
        }
      }
    }
    if (!ok) continue
    const y = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      let sum = gradient[i] ?? 0
      for (let k = 0; k < i; k++) sum -= (lower[i * n + k] ?? 0) * (y[k] ?? 0)
      y[i] = sum / (lower[i * n + i] ?? 1)
    }
    const solution = new Float64Array(n)
    for (let i = n - 1; i >= 0; i--) {
      let sum = y[i] ?? 0
      for (let k = i + 1; k < n; k++) sum -= (lower[k * n + i] ?? 0) * (solution[k] ?? 0)
      solution[i] = sum / (lower[i * n + i] ?? 1)
    }
    return solution
  }
  throw new ChurnError(ErrorCodes.VALIDATION, 'logistic regression: the Hessian is singular (set lambdaL2 > 0)')
}
