import { ChurnError, ErrorCodes } from '../../core/errors.js'
import type { BinaryDataset, Matrix } from './types.js'

/** A matrix from row arrays; every row must have the same length. */
export function matrixFromRows(rows: readonly ArrayLike<number>[], cols?: number): Matrix {
  const width = cols ?? rows[0]?.length ?? 0
  const values = new Float32Array(rows.length * width)
  rows.forEach((row, index) => {
    if (row.length !== width) {
      throw new ChurnError(ErrorCodes.VALIDATION, `row ${index} has ${row.length} values, expected ${width}`)
    }
    values.set(Array.from(row), index * width)
  })
  return { rows: rows.length, cols: width, values }
}

/** A matrix from column arrays of equal length. */
export function matrixFromColumns(columns: readonly ArrayLike<number>[]): Matrix {
  const rows = columns[0]?.length ?? 0
  const cols = columns.length
  const values = new Float32Array(rows * cols)
  columns.forEach((column, j) => {
    if (column.length !== rows) {
      throw new ChurnError(ErrorCodes.VALIDATION, `column ${j} has ${column.length} values, expected ${rows}`)
    }
    for (let i = 0; i < rows; i++) values[i * cols + j] = column[i] ?? Number.NaN
  })
  return { rows, cols, values }
}

export function createMatrix(rows: number, cols: number, values: Float32Array): Matrix {
  if (values.length !== rows * cols) {
    throw new ChurnError(ErrorCodes.VALIDATION, `matrix of ${rows} x ${cols} needs ${rows * cols} values, got ${values.length}`)
  }
  return { rows, cols, values }
}

/** One column as a new array. */
export function matrixColumn(matrix: Matrix, j: number): Float32Array {
  const out = new Float32Array(matrix.rows)
  for (let i = 0; i < matrix.rows; i++) out[i] = matrix.values[i * matrix.cols + j] ?? Number.NaN
  return out
}

/** The given rows, in the given order. */
export function takeRows(matrix: Matrix, indices: ArrayLike<number>): Matrix {
  const { cols } = matrix
  const values = new Float32Array(indices.length * cols)
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i] ?? 0
    values.set(matrix.values.subarray(row * cols, row * cols + cols), i * cols)
  }
  return { rows: indices.length, cols, values }
}

export function takeValues(values: ArrayLike<number>, indices: ArrayLike<number>): Float64Array {
  const out = new Float64Array(indices.length)
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i] ?? 0] ?? Number.NaN
  return out
}

/** The given rows of a dataset (features, labels and weights). */
export function takeDataset(dataset: BinaryDataset, indices: ArrayLike<number>): BinaryDataset {
  const x = takeRows(dataset.x, indices)
  const y = takeValues(dataset.y, indices)
  return dataset.weights === undefined ? { x, y } : { x, y, weights: takeValues(dataset.weights, indices) }
}

/** Checks labels are 0/1 and match the matrix; returns them as bytes. */
export function binaryLabels(y: ArrayLike<number>, rows: number): Uint8Array {
  if (y.length !== rows) {
    throw new ChurnError(ErrorCodes.VALIDATION, `labels: ${y.length} values for ${rows} rows`)
  }
  const out = new Uint8Array(rows)
  for (let i = 0; i < rows; i++) {
    const label = y[i]
    if (label !== 0 && label !== 1) {
      throw new ChurnError(ErrorCodes.VALIDATION, `labels: row ${i} has ${String(label)}, expected 0 or 1`)
    }
    out[i] = label
  }
  return out
}

/** Checks weights are finite and non-negative; all ones when absent. */
export function sampleWeights(weights: ArrayLike<number> | undefined, rows: number): Float64Array {
  const out = new Float64Array(rows).fill(1)
  if (weights === undefined) return out
  if (weights.length !== rows) {
    throw new ChurnError(ErrorCodes.VALIDATION, `weights: ${weights.length} values for ${rows} rows`)
  }
  for (let i = 0; i < rows; i++) {
    const weight = weights[i] ?? Number.NaN
    if (!Number.isFinite(weight) || weight < 0) {
      throw new ChurnError(ErrorCodes.VALIDATION, `weights: row ${i} has ${weight}, expected a finite value >= 0`)
    }
    out[i] = weight
  }
  return out
}
