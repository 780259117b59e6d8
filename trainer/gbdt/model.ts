import { ChurnError, ErrorCodes } from '../../core/errors.js'
import type { BinaryPrediction, Matrix } from '../dataset/types.js'
import type { GbdtStructure, Tree, TreeStructure } from './types.js'

export function sigmoid(margin: number): number {
  return 1 / (1 + Math.exp(-margin))
}

/** A trained tree ensemble for binary log-loss: margin = baseScore + sum of leaf values; probability = sigmoid(margin). */
export class GbdtModel {
  readonly trees: readonly Tree[]
  /** Log-odds of the weighted training prior, float32 (what the ONNX artifact stores as base value). */
  readonly baseScore: number
  readonly featureCount: number

  constructor(trees: readonly Tree[], baseScore: number, featureCount: number) {
    this.trees = trees
    this.baseScore = Math.fround(baseScore)
    this.featureCount = featureCount
  }

  /** Raw margins (log-odds). Comparisons are float32 against float32 thresholds, as in ONNX Runtime. */
  predictMargin(x: Matrix): Float64Array {
    this.#checkWidth(x)
    const margin = new Float64Array(x.rows).fill(this.baseScore)
    for (const tree of this.trees) addTree(tree, x, margin)
    return margin
  }

  predictProbability(x: Matrix): Float64Array {
    return this.predictMargin(x).map(sigmoid)
  }

  predict(x: Matrix): BinaryPrediction {
    const margin = this.predictMargin(x)
    return { margin, probability: margin.map(sigmoid) }
  }

  /** The leaf each row reaches in one tree. */
  leafIndex(treeIndex: number, x: Matrix): Int32Array {
    const tree = this.trees[treeIndex]
    if (tree === undefined) throw new ChurnError(ErrorCodes.VALIDATION, `no tree ${treeIndex} (model has ${this.trees.length})`)
    this.#checkWidth(x)
    const out = new Int32Array(x.rows)
    for (let row = 0; row < x.rows; row++) out[row] = findLeaf(tree, x.values, row * x.cols)
    return out
  }

  /** The first `count` trees. */
  truncate(count: number): GbdtModel {
    return new GbdtModel(this.trees.slice(0, count), this.baseScore, this.featureCount)
  }

  toStructure(): GbdtStructure {
    return { baseScore: this.baseScore, featureCount: this.featureCount, trees: this.trees.map(treeToStructure) }
  }

  static fromStructure(structure: GbdtStructure): GbdtModel {
    return new GbdtModel(structure.trees.map(treeFromStructure), structure.baseScore, structure.featureCount)
  }

  #checkWidth(x: Matrix): void {
    if (x.cols !== this.featureCount) {
      throw new ChurnError(ErrorCodes.VALIDATION, `model expects ${this.featureCount} features, got ${x.cols}`)
    }
  }
}

function findLeaf(tree: Tree, values: Float32Array, offset: number): number {
  const { feature, threshold, left, right, defaultLeft } = tree
  let node = 0
  let next = left[0] ?? -1
  while (next >= 0) {
    const value = values[offset + (feature[node] ?? 0)] ?? Number.NaN
    const goLeft = Number.isNaN(value) ? defaultLeft[node] === 1 : value <= (threshold[node] ?? 0)
    node = goLeft ? next : (right[node] ?? 0)
    next = left[node] ?? -1
  }
  return node
}

function addTree(tree: Tree, x: Matrix, margin: Float64Array): void {
  const { values, cols } = x
  const leafValue = tree.value
  for (let row = 0; row < x.rows; row++) {
    margin[row] = (margin[row] ?? 0) + (leafValue[findLeaf(tree, values, row * cols)] ?? 0)
  }
}

function treeToStructure(tree: Tree): TreeStructure {
  return {
    feature: Array.from(tree.feature),
    threshold: Array.from(tree.threshold),
    left: Array.from(tree.left),
    right: Array.from(tree.right),
    defaultLeft: Array.from(tree.defaultLeft),
    value: Array.from(tree.value),
    cover: Array.from(tree.cover),
    count: Array.from(tree.count),
    gain: Array.from(tree.gain),
  }
}

function treeFromStructure(structure: TreeStructure): Tree {
  const size = structure.feature.length
  const fields = [structure.threshold, structure.left, structure.right, structure.defaultLeft, structure.value, structure.cover, structure.count, structure.gain]
  if (size === 0 || fields.some((field) => field.length !== size)) {
    throw new ChurnError(ErrorCodes.VALIDATION, 'tree structure: every node array must have the same, non-zero length')
  }
  return {
    feature: Int32Array.from(structure.feature),
    threshold: Float32Array.from(structure.threshold),
    left: Int32Array.from(structure.left),
    right: Int32Array.from(structure.right),
    defaultLeft: Uint8Array.from(structure.defaultLeft),
    value: Float32Array.from(structure.value),
    cover: Float64Array.from(structure.cover),
    count: Int32Array.from(structure.count),
    gain: Float64Array.from(structure.gain),
  }
}
