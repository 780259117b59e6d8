import { createHash } from 'node:crypto'
import { z } from 'zod'
import { ChurnError, ErrorCodes, errorMessage } from '../../core/errors.js'
import { binaryLabels } from '../dataset/matrix.js'
import type { BinaryDataset, Matrix } from '../dataset/types.js'
import type { GbdtStructure } from '../gbdt/types.js'
import type { LogisticStructure } from '../logistic/types.js'

/** Keys of the model's `metadata_props`; every value is JSON. */
export const METADATA_KEYS = {
  formatVersion: 'churn.metadata_version',
  modelType: 'churn.model_type',
  featureNames: 'churn.feature_names',
  featureSetVersion: 'churn.feature_set_version',
  trainingWindow: 'churn.training_window',
  dataHash: 'churn.data_hash',
  params: 'churn.params',
  metrics: 'churn.metrics',
  referenceDistributions: 'churn.reference_distributions',
  baseScore: 'churn.base_score',
  trees: 'churn.trees',
  logistic: 'churn.logistic',
} as const

export const METADATA_FORMAT_VERSION = 1

/**
 * Distribution of one feature on the training data, for drift checks (PSI, KS): `frequencies[i]` is the share of
 * non-missing values v with edges[i-1] < v <= edges[i] (the first bin is unbounded below, the last above).
 */
export interface ReferenceDistribution {
  feature: string
  edges: number[]
  frequencies: number[]
  missingFraction: number
  count: number
}

export interface TrainingWindow {
  start: string
  end: string
}

/** What the caller knows about a model beyond its parameters. */
export interface ModelMetadataInput {
  readonly featureNames: readonly string[]
  readonly featureSetVersion: string
  readonly trainingWindow?: TrainingWindow
  /** e.g. from `hashTrainingData`. */
  readonly dataHash?: string
  readonly params?: Readonly<Record<string, unknown>>
  readonly metrics?: Readonly<Record<string, unknown>>
  readonly referenceDistributions?: readonly ReferenceDistribution[]
}

export type ModelType = 'gbdt' | 'logistic'

/** Metadata read back from an ONNX artifact. */
export interface ModelMetadata {
  readonly formatVersion: number
  readonly modelType: ModelType
  readonly featureNames: readonly string[]
  readonly featureSetVersion: string
  readonly trainingWindow?: TrainingWindow
  readonly dataHash?: string
  readonly params: Readonly<Record<string, unknown>>
  readonly metrics: Readonly<Record<string, unknown>>
  readonly referenceDistributions: readonly ReferenceDistribution[]
  /** Margin of a row that reaches no tree (GBDT) or the intercept on mean features (logistic). */
  readonly baseScore: number
  /** Tree structure for exact TreeSHAP (GBDT only). */
  readonly trees?: GbdtStructure
  readonly logistic?: LogisticStructure
  /** Every metadata entry as stored. */
  readonly raw: Readonly<Record<string, string>>
}

// JSON has no Infinity or NaN: a split that sends every value left and only NaN right has threshold +Infinity.
const SPECIAL = new Map<string, number>([['Infinity', Number.POSITIVE_INFINITY], ['-Infinity', Number.NEGATIVE_INFINITY], ['NaN', Number.NaN]])

export function numbersToJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' && !Number.isFinite(item) ? String(item) : item))
}

export function numbersFromJson(text: string): unknown {
  return JSON.parse(text, (_key, item: unknown) => (typeof item === 'string' && SPECIAL.has(item) ? SPECIAL.get(item) : item))
}

/** The metadata entries of an artifact. */
export function buildMetadata(
  modelType: ModelType,
  input: ModelMetadataInput,
  model: { readonly baseScore: number; readonly trees?: GbdtStructure; readonly logistic?: LogisticStructure },
): Record<string, string> {
  const entries: Record<string, string> = {
    [METADATA_KEYS.formatVersion]: JSON.stringify(METADATA_FORMAT_VERSION),
    [METADATA_KEYS.modelType]: JSON.stringify(modelType),
    [METADATA_KEYS.featureNames]: JSON.stringify(input.featureNames),
    [METADATA_KEYS.featureSetVersion]: JSON.stringify(input.featureSetVersion),
    [METADATA_KEYS.params]: numbersToJson(input.params ?? {}),
    [METADATA_KEYS.metrics]: numbersToJson(input.metrics ?? {}),
    [METADATA_KEYS.referenceDistributions]: numbersToJson(input.referenceDistributions ?? []),
    [METADATA_KEYS.baseScore]: numbersToJson(model.baseScore),
  }
  if (input.trainingWindow !== undefined) entries[METADATA_KEYS.trainingWindow] = JSON.stringify(input.trainingWindow)
  if (input.dataHash !== undefined) entries[METADATA_KEYS.dataHash] = JSON.stringify(input.dataHash)
  if (model.trees !== undefined) entries[METADATA_KEYS.trees] = numbersToJson(model.trees)
  if (model.logistic !== undefined) entries[METADATA_KEYS.logistic] = numbersToJson(model.logistic)
  return entries
}

const numberArray = z.array(z.number())
// Thresholds may be +-Infinity (zod's number() rejects those).
const thresholdArray = z.array(z.custom<number>((value) => typeof value === 'number' && !Number.isNaN(value), 'expected a number or +-Infinity'))
const treeSchema = z.object({
  feature: numberArray, threshold: thresholdArray, left: numberArray, right: numberArray, defaultLeft: numberArray,
  value: numberArray, cover: numberArray, count: numberArray, gain: numberArray,
})
const metadataSchemas = {
  formatVersion: z.number().int(),
  modelType: z.enum(['gbdt', 'logistic']),
  featureNames: z.array(z.string()),
  featureSetVersion: z.string(),
  trainingWindow: z.object({ start: z.string(), end: z.string() }),
  dataHash: z.string(),
  params: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.unknown()),
  referenceDistributions: z.array(z.object({
    feature: z.string(), edges: numberArray, frequencies: numberArray, missingFraction: z.number(), count: z.number(),
  })),
  baseScore: z.number(),
  trees: z.object({ baseScore: z.number(), featureCount: z.number().int(), trees: z.array(treeSchema) }),
  logistic: z.object({ intercept: z.number(), coefficients: numberArray, means: numberArray, scales: numberArray }),
} as const

type Schemas = typeof metadataSchemas

/** Parses and validates the metadata entries of an artifact (as written by `buildMetadata`). */
export function parseMetadata(raw: Readonly<Record<string, string>>): ModelMetadata {
  function read<K extends keyof Schemas>(key: K, required: true): z.output<Schemas[K]>
  function read<K extends keyof Schemas>(key: K, required: false): z.output<Schemas[K]> | undefined
  function read<K extends keyof Schemas>(key: K, required: boolean): z.output<Schemas[K]> | undefined {
    const name = METADATA_KEYS[key]
    const text = raw[name]
    if (text === undefined) {
      if (required) throw new ChurnError(ErrorCodes.VALIDATION, `ONNX metadata: "${name}" is missing`)
      return undefined
    }
    let value: unknown
    try {
      value = numbersFromJson(text)
    } catch (error) {
      throw new ChurnError(ErrorCodes.VALIDATION, `ONNX metadata: "${name}" is not JSON: ${errorMessage(error)}`, { cause: error })
    }
    const result = metadataSchemas[key].safeParse(value)
    if (!result.success) {
      throw new ChurnError(ErrorCodes.VALIDATION, `ONNX metadata: "${name}": ${result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`)
    }
    return result.data as z.output<Schemas[K]>
  }
  const trainingWindow = read('trainingWindow', false)
  const dataHash = read('dataHash', false)
  const trees = read('trees', false)
  const logistic = read('logistic', false)
  return {
    formatVersion: read('formatVersion', true),
    modelType: read('modelType', true),
    featureNames: read('featureNames', true),
    featureSetVersion: read('featureSetVersion', true),
    params: read('params', true),
    metrics: read('metrics', true),
    referenceDistributions: read('referenceDistributions', true),
    baseScore: read('baseScore', true),
    ...(trainingWindow === undefined ? {} : { trainingWindow }),
    ...(dataHash === undefined ? {} : { dataHash }),
    ...(trees === undefined ? {} : { trees }),
    ...(logistic === undefined ? {} : { logistic }),
    raw,
  }
}

/** A content hash of the training rows (features, labels, weights): the same data gives the same hash. */
export function hashTrainingData(dataset: BinaryDataset): string {
  const hash = createHash('sha256')
  hash.update(`${dataset.x.rows}x${dataset.x.cols};`)
  hash.update(new Uint8Array(dataset.x.values.buffer, dataset.x.values.byteOffset, dataset.x.values.byteLength))
  hash.update(binaryLabels(dataset.y, dataset.x.rows))
  if (dataset.weights !== undefined) hash.update(new Uint8Array(Float64Array.from(dataset.weights).buffer))
  return `sha256:${hash.digest('hex')}`
}

/**
 * Reference distribution of every feature: one bin per distinct value for features with at most `bins` distinct
 * values (codes, flags), else `bins` quantile bins.
 */
export function referenceDistributions(x: Matrix, featureNames: readonly string[], bins = 10): ReferenceDistribution[] {
  if (featureNames.length !== x.cols) {
    throw new ChurnError(ErrorCodes.VALIDATION, `${featureNames.length} feature names for ${x.cols} features`)
  }
  return featureNames.map((feature, j) => {
    const present: number[] = []
    for (let row = 0; row < x.rows; row++) {
      const value = x.values[row * x.cols + j] ?? Number.NaN
      if (!Number.isNaN(value)) present.push(value)
    }
    const sorted = Float64Array.from(present).sort()
    const distinct = [...new Set(sorted)]
    let edges: number[]
    if (distinct.length <= bins) {
      edges = distinct.slice(0, -1).map((value, k) => (value + (distinct[k + 1] ?? value)) / 2)
    } else {
      const cuts = Array.from({ length: bins - 1 }, (_, k) => sorted[Math.min(sorted.length - 1, Math.floor(((k + 1) * sorted.length) / bins))] ?? 0)
      edges = [...new Set(cuts)].filter((edge) => edge < (sorted[sorted.length - 1] ?? 0))
    }
    const frequencies = new Array<number>(edges.length + 1).fill(0)
    let bin = 0
    for (const value of sorted) {
      while (bin < edges.length && value > (edges[bin] ?? 0)) bin++
      frequencies[bin] = (frequencies[bin] ?? 0) + 1
    }
    return {
      feature,
      edges,
      frequencies: frequencies.map((count) => (sorted.length === 0 ? 0 : count / sorted.length)),
      missingFraction: x.rows === 0 ? 0 : (x.rows - sorted.length) / x.rows,
      count: x.rows,
    }
  })
}
