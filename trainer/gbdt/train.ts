import { availableParallelism } from 'node:os'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { binaryLabels, sampleWeights, takeDataset } from '../dataset/matrix.js'
import { SeededRandom } from '../dataset/random.js'
import type { BinaryDataset } from '../dataset/types.js'
import { stratifiedHoldout } from '../evaluation/splits.js'
import { binMatrix, fitBinning, type BinnedColumns, type FeatureBinning } from './binning.js'
import { TreeGrower, type GrownTree } from './grower.js'
import { createHistogramBuilder, type HistogramBuilder } from './histogram-builder.js'
import { GbdtModel } from './model.js'
import { resolveGbdtOptions, type GbdtOptions, type GbdtOptionsInput } from './options.js'
import type { IterationInfo, Tree } from './types.js'

export interface GbdtTrainingExtras {
  /** Rows for early stopping; when absent, `validationFraction` may carve them out of the training rows. */
  readonly validation?: BinaryDataset
  /** Called after every boosting round (computing the training loss costs one pass over the rows). */
  readonly onIteration?: (info: IterationInfo) => void
}

export interface GbdtTrainingResult {
  readonly model: GbdtModel
  readonly options: GbdtOptions
  /** Trees in the model: the best round under early stopping, else the rounds run. */
  readonly treeCount: number
  /** Validation loss per round, when there was a validation set. */
  readonly validationLoss: readonly number[]
  /** Bin edges of every feature (the reference for drift is derived from the data, not these). */
  readonly binning: readonly FeatureBinning[]
}

/** Trains a histogram GBDT for binary log-loss. Deterministic for a given seed. */
export function trainGbdt(train: BinaryDataset, options: GbdtOptionsInput = {}, extras: GbdtTrainingExtras = {}): GbdtTrainingResult {
  const resolved = resolveGbdtOptions(options)
  if (extras.validation !== undefined || resolved.validationFraction === undefined) {
    return boost(train, resolved, extras.validation, extras.onIteration)
  }
  const labels = binaryLabels(train.y, train.x.rows)
  const split = stratifiedHoldout(labels, resolved.validationFraction, resolved.seed)
  const inner = boost(takeDataset(train, split.train), resolved, takeDataset(train, split.holdout), extras.onIteration)
  // Refit on every row with the number of rounds that early stopping found.
  const refit = boost(train, { ...resolved, numTrees: Math.max(1, inner.treeCount) }, undefined, undefined)
  return { ...refit, options: resolved, validationLoss: inner.validationLoss }
}

interface Targets {
  readonly labels: Uint8Array
  readonly weights: Float64Array
}

function targets(dataset: BinaryDataset, scalePosWeight: number): Targets {
  const labels = binaryLabels(dataset.y, dataset.x.rows)
  const weights = sampleWeights(dataset.weights, dataset.x.rows)
  if (scalePosWeight !== 1) labels.forEach((label, row) => { if (label === 1) weights[row] = (weights[row] ?? 0) * scalePosWeight })
  return { labels, weights }
}

/** Everything one boosting run reads: the binned training rows, their targets and the histogram machinery. */
interface BoostingContext {
  readonly options: GbdtOptions
  readonly cols: number
  readonly labels: Uint8Array
  readonly weights: Float64Array
  readonly baseScore: number
  readonly binning: readonly FeatureBinning[]
  readonly binned: BinnedColumns
  readonly histograms: HistogramBuilder
}

function boost(
  train: BinaryDataset,
  options: GbdtOptions,
  validation: BinaryDataset | undefined,
  onIteration: ((info: IterationInfo) => void) | undefined,
): GbdtTrainingResult {
  const { x } = train
  if (validation !== undefined && validation.x.cols !== x.cols) {
    throw new ChurnError(ErrorCodes.VALIDATION, `validation set has ${validation.x.cols} features, training set ${x.cols}`)
  }
  const { labels, weights } = targets(train, options.scalePosWeight)
  let positive = 0
  let negative = 0
  labels.forEach((label, row) => {
    if (label === 1) positive += weights[row] ?? 0
    else negative += weights[row] ?? 0
  })
  if (!(positive > 0 && negative > 0)) {
    throw new ChurnError(ErrorCodes.VALIDATION, 'training needs rows (with weight) of both classes', { details: { positive, negative } })
  }
  const threads = options.threads > 0 ? options.threads : x.rows * x.cols >= 1_000_000 ? Math.min(2, availableParallelism()) : 1
  const binning = fitBinning(x, options.maxBins, options.binSampleSize, options.seed)
  const binned = binMatrix(x, binning, threads > 1)
  const histograms = createHistogramBuilder(binned, options.numLeaves + 2, threads)
  try {
    const context = { options, cols: x.cols, labels, weights, baseScore: Math.fround(Math.log(positive / negative)), binning, binned, histograms }
    return runRounds(context, validation, onIteration)
  } finally {
    histograms.close()
  }
}

function runRounds(context: BoostingContext, validation: BinaryDataset | undefined, onIteration: ((info: IterationInfo) => void) | undefined): GbdtTrainingResult {
  const { options, cols, labels, weights, baseScore, binning, binned, histograms } = context
  const grower = new TreeGrower(binned, binning.map((feature) => feature.upperEdges), {
    numLeaves: options.numLeaves,
    maxDepth: options.maxDepth ?? Number.POSITIVE_INFINITY,
    learningRate: options.learningRate,
    lambdaL2: options.lambdaL2,
    minChildWeight: options.minChildWeight,
    minSamplesLeaf: options.minSamplesLeaf,
    minSplitGain: options.minSplitGain,
  }, histograms)

  const rows = binned.rows
  const score = new Float64Array(rows).fill(baseScore)
  const { gradient, hessian } = histograms
  const random = new SeededRandom(options.seed)
  const allRows = Int32Array.from({ length: rows }, (_, row) => row)
  const allFeatures = Int32Array.from({ length: cols }, (_, feature) => feature)
  const bagSize = Math.max(1, Math.round(rows * options.baggingFraction))
  const featureCount = Math.max(1, Math.round(cols * options.featureFraction))
  const sampling = bagSize < rows || featureCount < cols
  const inBag = new Uint8Array(rows)

  const valid = validation === undefined ? undefined : { ...targets(validation, options.scalePosWeight), binned: binMatrix(validation.x, binning) }
  const validScore = new Float64Array(valid?.labels.length ?? 0).fill(baseScore)
  const validationLoss: number[] = []
  let bestLoss = Number.POSITIVE_INFINITY
  let bestCount = 0

  const trees: Tree[] = []
  for (let iteration = 0; iteration < options.numTrees; iteration++) {
    logLossGradients(score, labels, weights, gradient, hessian)
    const bag = bagSize < rows ? random.sampleSorted(rows, bagSize) : allRows
    const features = featureCount < cols ? random.sampleSorted(cols, featureCount) : allFeatures
    const grown = grower.grow(bag, features)
    if (grown.tree.left[0] === -1) {
      // No split passes the constraints: with every row and feature nothing will change any more (LightGBM stops
      // too); with sampling, another draw may still split.
      if (sampling) continue
      break
    }
    trees.push(grown.tree)
    addLeafValues(grown, score)
    if (bag !== allRows) {
      inBag.fill(0)
      for (const row of bag) inBag[row] = 1
      addRoutedValues(grown, binned, score, inBag)
    }

    let info: IterationInfo = { iteration, trainLoss: onIteration === undefined ? Number.NaN : logLoss(score, labels, weights) }
    if (valid !== undefined) {
      addRoutedValues(grown, valid.binned, validScore, undefined)
      const loss = logLoss(validScore, valid.labels, valid.weights)
      validationLoss.push(loss)
      info = { ...info, validationLoss: loss }
      if (loss < bestLoss) {
        bestLoss = loss
        bestCount = trees.length
      }
    }
    onIteration?.(info)
    if (valid !== undefined && trees.length - bestCount >= options.earlyStoppingRounds) break
  }
  const kept = valid === undefined ? trees : trees.slice(0, bestCount)
  return { model: new GbdtModel(kept, baseScore, cols), options, treeCount: kept.length, validationLoss, binning }
}

function logLossGradients(score: Float64Array, labels: Uint8Array, weights: Float64Array, gradient: Float64Array, hessian: Float64Array): void {
  for (let row = 0; row < score.length; row++) {
    const p = 1 / (1 + Math.exp(-(score[row] ?? 0)))
    const weight = weights[row] ?? 0
    gradient[row] = weight * (p - (labels[row] ?? 0))
    hessian[row] = weight * Math.max(p * (1 - p), 1e-16)
  }
}

/** Weighted mean log-loss of margins. */
function logLoss(score: Float64Array, labels: Uint8Array, weights: Float64Array): number {
  let total = 0
  let weightSum = 0
  for (let row = 0; row < score.length; row++) {
    const margin = score[row] ?? 0
    const weight = weights[row] ?? 0
    // log(1 + exp(-m)) for positives, log(1 + exp(m)) for negatives, computed without overflow.
    const z = labels[row] === 1 ? -margin : margin
    total += weight * (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)))
    weightSum += weight
  }
  return weightSum > 0 ? total / weightSum : 0
}

function addLeafValues(grown: GrownTree, score: Float64Array): void {
  const { tree, rows, leafBegin, leafEnd } = grown
  tree.left.forEach((left, node) => {
    if (left !== -1) return
    const value = tree.value[node] ?? 0
    const end = leafEnd[node] ?? 0
    for (let i = leafBegin[node] ?? 0; i < end; i++) {
      const row = rows[i] ?? 0
      score[row] = (score[row] ?? 0) + value
    }
  })
}

/** Adds the tree's value to rows routed by their bins (rows outside the bag, validation rows). */
function addRoutedValues(grown: GrownTree, binned: BinnedColumns, score: Float64Array, skip: Uint8Array | undefined): void {
  const { tree, thresholdBin } = grown
  const { feature, left, right, defaultLeft, value } = tree
  const { columns, numBins } = binned
  for (let row = 0; row < binned.rows; row++) {
    if (skip?.[row] === 1) continue
    let node = 0
    let next = left[0] ?? -1
    while (next >= 0) {
      const f = feature[node] ?? 0
      const bin = columns[f]?.[row] ?? 0
      const goLeft = bin <= (thresholdBin[node] ?? 0) || (defaultLeft[node] === 1 && bin === (numBins[f] ?? 0) - 1)
      node = goLeft ? next : (right[node] ?? 0)
      next = left[node] ?? -1
    }
    score[row] = (score[row] ?? 0) + (value[node] ?? 0)
  }
}
