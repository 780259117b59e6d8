import type { Matrix } from '../dataset/types.js'

/** A CSV as read: the header and every row as strings. */
export interface CsvTable {
  readonly header: readonly string[]
  readonly rows: readonly (readonly string[])[]
}

/** How a source column became a feature. */
export type ColumnEncoding =
  | { readonly name: string; readonly kind: 'numeric' }
  /** Ordinal codes 0..n-1 in the sorted order of the category strings (independent of the label). */
  | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] }

export interface EncodedTable {
  readonly featureNames: readonly string[]
  readonly encodings: readonly ColumnEncoding[]
  readonly x: Matrix
  readonly y: Uint8Array
  readonly ids?: readonly string[]
  /** The label value read as positive (e.g. "yes"). */
  readonly positiveLabel: string
}

export type ModelKind = 'gbdt' | 'logistic'

export interface FoldMetrics {
  readonly fold: number
  readonly trainRows: number
  readonly testRows: number
  readonly rocAuc: number
  readonly prAuc: number
  readonly logLoss: number
  readonly brier: number
  readonly ece: number
  readonly liftTopDecile: number
  readonly maxF1: number
  readonly maxF1Threshold: number
  readonly fitSeconds: number
  /** Trees in the GBDT of this fold. */
  readonly trees?: number
}

export const SUMMARY_METRICS = ['rocAuc', 'prAuc', 'logLoss', 'brier', 'ece', 'liftTopDecile', 'maxF1', 'fitSeconds'] as const
export type SummaryMetric = (typeof SUMMARY_METRICS)[number]

export interface ModelCrossValidation {
  readonly model: ModelKind
  readonly folds: readonly FoldMetrics[]
  readonly summary: Readonly<Record<SummaryMetric, { readonly mean: number; readonly sd: number }>>
}

export interface CrossValidationReport {
  readonly rows: number
  readonly features: number
  readonly positiveRate: number
  readonly folds: number
  readonly seed: number
  readonly models: readonly ModelCrossValidation[]
  /** Fold of each row (0 .. folds-1), so another tool can reproduce the same folds. */
  readonly assignment: Int32Array
}
