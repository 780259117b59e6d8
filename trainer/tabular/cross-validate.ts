import { takeDataset, takeValues } from '../dataset/matrix.js'
import type { BinaryDataset } from '../dataset/types.js'
import { evaluateBinary, meanAndSd } from '../evaluation/metrics.js'
import { foldSplit, stratifiedKFold } from '../evaluation/splits.js'
import { trainGbdt } from '../gbdt/train.js'
import { trainLogistic } from '../logistic/logistic.js'
import { resolveCrossValidationOptions, type CrossValidationOptions, type CrossValidationOptionsInput } from './options.js'
import { SUMMARY_METRICS, type CrossValidationReport, type FoldMetrics, type ModelCrossValidation, type ModelKind } from './types.js'

export interface CrossValidationExtras {
  /** A fold assignment to use instead of a seeded stratified one (e.g. read from a file another tool also reads). */
  readonly assignment?: Int32Array
  /** Called after each model finishes a fold. */
  readonly onFold?: (model: ModelKind, metrics: FoldMetrics) => void
}

/** Stratified k-fold cross-validation of the GBDT and the logistic baseline on the same folds. */
export function crossValidate(dataset: BinaryDataset, options: CrossValidationOptionsInput = {}, extras: CrossValidationExtras = {}): CrossValidationReport {
  const resolved = resolveCrossValidationOptions(options)
  const assignment = extras.assignment ?? stratifiedKFold(dataset.y, resolved.folds, resolved.seed)
  const folds = extras.assignment === undefined ? resolved.folds : Math.max(...assignment) + 1
  const results = new Map<ModelKind, FoldMetrics[]>(resolved.models.map((model) => [model, []]))
  for (let fold = 0; fold < folds; fold++) {
    const split = foldSplit(assignment, fold)
    const train = takeDataset(dataset, split.train)
    const test = takeDataset(dataset, split.holdout)
    for (const model of resolved.models) {
      const metrics = fitAndScore(model, train, test, fold, resolved)
      results.get(model)?.push(metrics)
      extras.onFold?.(model, metrics)
    }
  }
  const positives = Array.from(dataset.y).filter((label) => label === 1).length
  return {
    rows: dataset.x.rows,
    features: dataset.x.cols,
    positiveRate: positives / dataset.x.rows,
    folds,
    seed: resolved.seed,
    models: [...results].map(([model, foldMetrics]): ModelCrossValidation => ({ model, folds: foldMetrics, summary: summarise(foldMetrics) })),
    assignment,
  }
}

function fitAndScore(model: ModelKind, train: BinaryDataset, test: BinaryDataset, fold: number, options: CrossValidationOptions): FoldMetrics {
  const started = performance.now()
  let probability: Float64Array
  let trees: number | undefined
  if (model === 'gbdt') {
    const result = trainGbdt(train, options.gbdt)
    probability = result.model.predictProbability(test.x)
    trees = result.treeCount
  } else {
    probability = trainLogistic(train, options.logistic).model.predictProbability(test.x)
  }
  const fitSeconds = (performance.now() - started) / 1000
  const labels = takeValues(test.y, Int32Array.from({ length: test.x.rows }, (_, i) => i))
  const report = evaluateBinary(labels, probability)
  return {
    fold,
    trainRows: train.x.rows,
    testRows: test.x.rows,
    rocAuc: report.rocAuc,
    prAuc: report.prAuc,
    logLoss: report.logLoss,
    brier: report.brier,
    ece: report.ece,
    liftTopDecile: report.liftTopDecile,
    maxF1: report.bestF1.f1,
    maxF1Threshold: report.bestF1.threshold,
    fitSeconds,
    ...(trees === undefined ? {} : { trees }),
  }
}

function summarise(folds: readonly FoldMetrics[]): ModelCrossValidation['summary'] {
  const entries = SUMMARY_METRICS.map((metric) => [metric, meanAndSd(folds.map((fold) => fold[metric]))] as const)
  return Object.fromEntries(entries) as ModelCrossValidation['summary']
}
