import type { BinnedColumns } from './binning.js'
import { subtractHistogram, type HistogramLayout } from './histogram.js'
import type { HistogramBuilder } from './histogram-builder.js'
import { findBestSplit, leafOutput, type LeafStats, type SplitCandidate, type SplitParams } from './split.js'
import type { Tree } from './types.js'

export interface GrowerParams extends SplitParams {
  readonly numLeaves: number
  readonly maxDepth: number
  readonly learningRate: number
}

/** A freshly grown tree plus where each leaf's training rows are (valid until the next `grow`). */
export interface GrownTree {
  readonly tree: Tree
  /** Bin threshold of each inner node, for routing binned rows. */
  readonly thresholdBin: Int32Array
  readonly rows: Int32Array
  /** For leaves: their rows are `rows[leafBegin[node] .. leafEnd[node])`. */
  readonly leafBegin: Int32Array
  readonly leafEnd: Int32Array
}

interface Leaf {
  readonly node: number
  readonly begin: number
  readonly end: number
  readonly depth: number
  readonly stats: LeafStats
  histogram: Float64Array | undefined
  split: SplitCandidate | undefined
}

/** Grows trees leaf-wise (best gain first) on binned columns, reusing its buffers across trees. */
export class TreeGrower {
  readonly #binned: BinnedColumns
  readonly #thresholds: readonly Float32Array[]
  readonly #params: GrowerParams
  readonly #histograms: HistogramBuilder
  readonly #layout: HistogramLayout
  readonly #rows: Int32Array
  readonly #spill: Int32Array

  /**
   * `thresholds[f][bin]` is the float32 upper edge of a bin of feature f. Gradients and hessians are read from the
   * builder's buffers (`histograms.gradient`, `histograms.hessian`).
   */
  constructor(binned: BinnedColumns, thresholds: readonly Float32Array[], params: GrowerParams, histograms: HistogramBuilder) {
    this.#binned = binned
    this.#thresholds = thresholds
    this.#params = params
    this.#histograms = histograms
    this.#layout = histograms.layout
    this.#rows = histograms.rows
    this.#spill = new Int32Array(binned.rows)
  }

  /** Grows one tree on the rows of `bag` (ascending) using only `features`. */
  grow(bag: Int32Array, features: Int32Array): GrownTree {
    const params = this.#params
    const rows = this.#rows
    const gradient = this.#histograms.gradient
    const hessian = this.#histograms.hessian
    rows.set(bag)
    const nodes = new NodeList()

    let gradientSum = 0
    let hessianSum = 0
    for (const row of bag) {
      gradientSum += gradient[row] ?? 0
      hessianSum += hessian[row] ?? 0
    }
    const rootStats = { gradient: gradientSum, hessian: hessianSum, count: bag.length }
    const root: Leaf = { node: nodes.add(rootStats, 0, bag.length), begin: 0, end: bag.length, depth: 0, stats: rootStats, histogram: undefined, split: undefined }
    if (this.#canSplit(root)) {
      root.histogram = this.#acquire()
      this.#build(root.histogram, root, features)
      root.split = findBestSplit(root.histogram, this.#layout, features, root.stats, params)
      this.#releaseIfFinal(root)
    }
    const leaves: Leaf[] = [root]

    for (let leafCount = 1; leafCount < params.numLeaves; leafCount++) {
      let bestIndex = -1
      let bestGain = 0
      leaves.forEach((leaf, index) => {
        if (leaf.split !== undefined && leaf.split.gain > bestGain) {
          bestGain = leaf.split.gain
          bestIndex = index
        }
      })
      const parent = leaves[bestIndex]
      const split = parent?.split
      if (parent === undefined || split === undefined) break
      leaves.splice(bestIndex, 1)

      const middle = this.#partition(parent, split)
      const leftNode = nodes.add(split.left, parent.begin, middle)
      const rightNode = nodes.add(split.right, middle, parent.end)
      nodes.setSplit(parent.node, split, this.#thresholds[split.feature]?.[split.thresholdBin] ?? Number.POSITIVE_INFINITY, leftNode, rightNode)
      const left: Leaf = { node: leftNode, begin: parent.begin, end: middle, depth: parent.depth + 1, stats: split.left, histogram: undefined, split: undefined }
      const right: Leaf = { node: rightNode, begin: middle, end: parent.end, depth: parent.depth + 1, stats: split.right, histogram: undefined, split: undefined }
      leaves.push(left, right)

      const parentHistogram = parent.histogram
      parent.histogram = undefined
      if (parentHistogram === undefined) continue
      const [smaller, larger] = left.end - left.begin <= right.end - right.begin ? [left, right] : [right, left]
      // After the last split nobody reads the children's histograms.
      const last = leafCount + 1 === params.numLeaves
      const splitSmaller = !last && this.#canSplit(smaller)
      const splitLarger = !last && this.#canSplit(larger)
      if (!splitSmaller && !splitLarger) {
        this.#histograms.release(parentHistogram)
        continue
      }
      // Histogram subtraction: build the smaller child, the larger one is parent minus smaller.
      const smallerHistogram = this.#acquire()
      this.#build(smallerHistogram, smaller, features)
      if (splitLarger) {
        subtractHistogram(parentHistogram, smallerHistogram, this.#layout, features)
        larger.histogram = parentHistogram
        larger.split = findBestSplit(parentHistogram, this.#layout, features, larger.stats, params)
        this.#releaseIfFinal(larger)
      } else {
        this.#histograms.release(parentHistogram)
      }
      if (splitSmaller) {
        smaller.histogram = smallerHistogram
        smaller.split = findBestSplit(smallerHistogram, this.#layout, features, smaller.stats, params)
        this.#releaseIfFinal(smaller)
      } else {
        this.#histograms.release(smallerHistogram)
      }
    }
    for (const leaf of leaves) {
      if (leaf.histogram !== undefined) this.#histograms.release(leaf.histogram)
    }
    return nodes.finish(rows, params)
  }

  #canSplit(leaf: Leaf): boolean {
    const { minSamplesLeaf, minChildWeight, maxDepth } = this.#params
    return leaf.depth < maxDepth && leaf.stats.count >= 2 * minSamplesLeaf && leaf.stats.hessian >= 2 * minChildWeight
  }

  /** A leaf with no valid split never needs its histogram again. */
  #releaseIfFinal(leaf: Leaf): void {
    if (leaf.split === undefined && leaf.histogram !== undefined) {
      this.#histograms.release(leaf.histogram)
      leaf.histogram = undefined
    }
  }

  #acquire(): Float64Array {
    return this.#histograms.acquire()
  }

  #build(target: Float64Array, leaf: Leaf, features: Int32Array): void {
    const identity = leaf.depth === 0 && leaf.end === this.#binned.rows
    this.#histograms.build(target, features, leaf.begin, leaf.end, identity)
  }

  /** Stable partition of the leaf's rows: left rows first, in their original (ascending) order. */
  #partition(leaf: Leaf, split: SplitCandidate): number {
    const column = this.#binned.columns[split.feature] ?? new Uint8Array(0)
    const missingBin = (this.#binned.numBins[split.feature] ?? 1) - 1
    const threshold = split.thresholdBin
    const defaultLeft = split.defaultLeft
    const rows = this.#rows
    const spill = this.#spill
    let kept = leaf.begin
    let spilled = 0
    for (let i = leaf.begin; i < leaf.end; i++) {
      const row = rows[i] ?? 0
      const bin = column[row] ?? 0
      if (bin <= threshold || (defaultLeft && bin === missingBin)) rows[kept++] = row
      else spill[spilled++] = row
    }
    rows.set(spill.subarray(0, spilled), kept)
    return kept
  }
}

/** Nodes of the tree being grown, in creation order. */
class NodeList {
  readonly feature: number[] = []
  readonly thresholdBin: number[] = []
  readonly threshold: number[] = []
  readonly left: number[] = []
  readonly right: number[] = []
  readonly defaultLeft: number[] = []
  readonly gradient: number[] = []
  readonly cover: number[] = []
  readonly count: number[] = []
  readonly gain: number[] = []
  readonly begin: number[] = []
  readonly end: number[] = []

  add(stats: LeafStats, begin: number, end: number): number {
    this.feature.push(-1)
    this.thresholdBin.push(0)
    this.threshold.push(0)
    this.left.push(-1)
    this.right.push(-1)
    this.defaultLeft.push(0)
    this.gradient.push(stats.gradient)
    this.cover.push(stats.hessian)
    this.count.push(stats.count)
    this.gain.push(0)
    this.begin.push(begin)
    this.end.push(end)
    return this.feature.length - 1
  }

  setSplit(node: number, split: SplitCandidate, threshold: number, left: number, right: number): void {
    this.feature[node] = split.feature
    this.thresholdBin[node] = split.thresholdBin
    this.threshold[node] = threshold
    this.left[node] = left
    this.right[node] = right
    this.defaultLeft[node] = split.defaultLeft ? 1 : 0
    this.gain[node] = split.gain
  }

  finish(rows: Int32Array, params: GrowerParams): GrownTree {
    const value = new Float32Array(this.feature.length)
    this.gradient.forEach((gradient, node) => {
      value[node] = params.learningRate * leafOutput(gradient, this.cover[node] ?? 0, params.lambdaL2)
    })
    const tree: Tree = {
      feature: Int32Array.from(this.feature),
      threshold: Float32Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      value,
      cover: Float64Array.from(this.cover),
      count: Int32Array.from(this.count),
      gain: Float64Array.from(this.gain),
    }
    return {
      tree,
      thresholdBin: Int32Array.from(this.thresholdBin),
      rows,
      leafBegin: Int32Array.from(this.begin),
      leafEnd: Int32Array.from(this.end),
    }
  }
}
