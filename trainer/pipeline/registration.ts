import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../../core/config.js'
import type { BinaryDataset, Matrix } from '../dataset/types.js'
import type { GbdtModel } from '../gbdt/model.js'
import type { LogisticModel } from '../logistic/logistic.js'
import { gbdtToOnnx } from '../onnx/export-gbdt.js'
import { logisticToOnnx } from '../onnx/export-logistic.js'
import { hashTrainingData, referenceDistributions } from '../onnx/metadata.js'
import type { ModelRegistration } from './types.js'

export type TrainedModel = { readonly modelType: 'gbdt'; readonly model: GbdtModel } | { readonly modelType: 'logistic'; readonly model: LogisticModel }

/** Where a model came from, written into its ONNX metadata and its registry row. */
export interface ModelLineage {
  readonly featureNames: readonly string[]
  readonly featureSetVersion: string
  /** The rows the model was fitted on: their hash and per-feature reference distributions (for drift) go into the artifact. */
  readonly training: BinaryDataset
  /** Rows whose per-feature distributions drift is measured against. @default the training rows */
  readonly reference?: Matrix
  readonly params: Readonly<Record<string, unknown>>
  readonly metrics: Readonly<Record<string, number>>
  /** Event time (ms) the training data spans. */
  readonly trainingWindow: { readonly from: number; readonly to: number }
}

let packageVersion: string | undefined

/** The platform's version, recorded with every model. */
export function codeVersion(): string {
  packageVersion ??= process.env['npm_package_version'] ?? (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown'
  return packageVersion
}

/** `rocAuc` -> `roc_auc`: the registry's and the model events' metric names. */
export function snakeCaseMetrics(metrics: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([name, value]) => [name.replace(/[A-Z]/gu, (c) => `_${c.toLowerCase()}`), value]))
}

/** Exports a trained model to ONNX with its lineage in the metadata, and fills the registry's fields from the same lineage. */
export function prepareRegistration(trained: TrainedModel, lineage: ModelLineage): ModelRegistration {
  const dataHash = hashTrainingData(lineage.training)
  const metadata = {
    featureNames: lineage.featureNames,
    featureSetVersion: lineage.featureSetVersion,
    trainingWindow: { start: new Date(lineage.trainingWindow.from).toISOString(), end: new Date(lineage.trainingWindow.to).toISOString() },
    dataHash,
    params: lineage.params,
    metrics: lineage.metrics,
    referenceDistributions: referenceDistributions(lineage.reference ?? lineage.training.x, lineage.featureNames),
  }
  const artifact = trained.modelType === 'gbdt' ? gbdtToOnnx(trained.model, metadata) : logisticToOnnx(trained.model, metadata)
  return {
    artifact,
    modelType: trained.modelType,
    featureSetVersion: lineage.featureSetVersion,
    metrics: { ...lineage.metrics },
    params: { ...lineage.params },
    trainingWindow: { from: lineage.trainingWindow.from, to: lineage.trainingWindow.to },
    dataHash,
    codeVersion: codeVersion(),
  }
}
