import { ChurnError, ErrorCodes } from '../../core/errors.js'
import type { Reason, TreeEnsemble, TreeNodes } from './types.js'

// The path buffer holds one copy of the path per tree level: (depth + 1)(depth + 2) / 2 elements, and the recursion
// is as deep as the tree. Trained trees are far shallower; a deeper one is a corrupt artifact.
const MAX_TREE_DEPTH = 512

/** The ensemble flattened into one set of node arrays (node indices are global across trees). */
interface FlatEnsemble {
  readonly featureCount: number
  readonly roots: Int32Array
  readonly feature: Int32Array
  readonly threshold: Float32Array
  readonly left: Int32Array
  readonly right: Int32Array
  readonly defaultLeft: Uint8Array
  readonly value: Float64Array
  /** The node's share of its siblings' summed cover: the weight of the branch when its feature is unknown. */
  readonly fraction: Float64Array
  readonly maxDepth: number
}

/** Writes the contributions of the row at `values[offset..]` into `out[outOffset..]` (overwriting). */
type Kernel = (values: ArrayLike<number>, offset: number, out: Float64Array, outOffset: number) => void

/**
 * Exact path-dependent TreeSHAP (Lundberg et al. 2018, "Consistent individualized feature attribution for tree
 * ensembles", Algorithm 2) for a tree ensemble with a binary log-loss margin.
 *
 * Contributions are Shapley values of E[f(x) | x_S], where a split on a feature outside S sends the row down both
 * branches weighted by the training cover of each child, and a split on a feature in S follows the row (NaN takes the
 * learned default branch). They are in margin (log-odds) space and add up with `expectedValue` to the model's margin.
 * Rows are compared as float32, like the ONNX artifact and `GbdtModel`.
 *
 * Build one per model and reuse it: the trees are flattened into typed arrays once, and the path buffers are reused,
 * so explaining a row allocates only its output.
 */
export class TreeExplainer {
  /** Margin of a row with no feature known: base score plus each tree's cover-weighted mean leaf value. */
  readonly expectedValue: number
  readonly featureCount: number
  readonly #kernel: Kernel

  constructor(model: TreeEnsemble) {
    const flat = flatten(model)
    this.featureCount = flat.featureCount
    this.expectedValue = Math.fround(model.baseScore) + treeMeans(flat)
    this.#kernel = createKernel(flat)
  }

  /** SHAP value of every feature for one row (NaN = missing), in margin space. */
  contributions(row: ArrayLike<number>): Float64Array {
    if (row.length !== this.featureCount) {
      throw new ChurnError(ErrorCodes.VALIDATION, `row has ${row.length} values, the model expects ${this.featureCount} features`)
    }
    const out = new Float64Array(this.featureCount)
    this.#kernel(row, 0, out, 0)
    return out
  }

  /** Contributions of `nRows` rows stored row-major in `rows`; the result is row-major too (`nRows` x features). */
  explainBatch(rows: ArrayLike<number>, nRows: number): Float64Array {
    const width = this.featureCount
    if (!Number.isInteger(nRows) || nRows < 0 || rows.length !== nRows * width) {
      throw new ChurnError(ErrorCodes.VALIDATION, `batch has ${rows.length} values, expected ${nRows} rows x ${width} features`)
    }
    const out = new Float64Array(nRows * width)
    for (let row = 0; row < nRows; row++) this.#kernel(rows, row * width, out, row * width)
    return out
  }
}

/**
 * The `k` features with the largest |contribution|, largest first (ties keep feature order). Features that contribute
 * exactly 0 (unused by the model, or not on the row's paths) are never reasons, so fewer than `k` (default 3) may
 * come back.
 */
export function topReasons(contributions: ArrayLike<number>, featureNames: readonly string[], values: ArrayLike<number>, k = 3): Reason[] {
  const n = contributions.length
  if (featureNames.length !== n || values.length !== n) {
    throw new ChurnError(ErrorCodes.VALIDATION, `${n} contributions, ${featureNames.length} feature names and ${values.length} values: expected one each per feature`)
  }
  if (!Number.isInteger(k) || k < 0) throw new ChurnError(ErrorCodes.VALIDATION, `k must be a non-negative integer, got ${k}`)
  // Insertion into a sorted list of at most k indices: O(n k), no sort of all features per score.
  const chosen: number[] = []
  for (let j = 0; j < n; j++) {
    const magnitude = Math.abs(contributions[j] ?? 0)
    if (!(magnitude > 0)) continue
    let at = chosen.length
    while (at > 0 && magnitude > Math.abs(contributions[chosen[at - 1] ?? 0] ?? 0)) at--
    if (at < k) {
      chosen.splice(at, 0, j)
      if (chosen.length > k) chosen.pop()
    }
  }
  return chosen.map((j) => {
    const value = values[j] ?? Number.NaN
    return { feature: featureNames[j] ?? '', contribution: contributions[j] ?? 0, value: Number.isNaN(value) ? null : value }
  })
}

function invalid(message: string): ChurnError {
  return new ChurnError(ErrorCodes.VALIDATION, `tree ensemble: ${message}`)
}

/** Checks every tree (reachable nodes form a tree, features in range, covers usable) and concatenates them. */
function flatten(model: TreeEnsemble): FlatEnsemble {
  const { featureCount, trees } = model
  if (!Number.isInteger(featureCount) || featureCount < 1) throw invalid(`featureCount must be a positive integer, got ${featureCount}`)
  let total = 0
  for (const [t, tree] of trees.entries()) {
    const size = tree.feature.length
    const fields = [tree.threshold, tree.left, tree.right, tree.defaultLeft, tree.value, tree.cover]
    if (size === 0 || fields.some((field) => field.length !== size)) throw invalid(`tree ${t}: every node array must have the same, non-zero length`)
    total += size
  }
  const flat = {
    featureCount,
    roots: new Int32Array(trees.length),
    feature: new Int32Array(total).fill(-1),
    threshold: new Float32Array(total),
    left: new Int32Array(total).fill(-1),
    right: new Int32Array(total).fill(-1),
    defaultLeft: new Uint8Array(total),
    value: new Float64Array(total),
    fraction: new Float64Array(total).fill(1),
    maxDepth: 0,
  }
  let base = 0
  for (const [t, tree] of trees.entries()) {
    flat.roots[t] = base
    flat.maxDepth = Math.max(flat.maxDepth, copyTree(tree, t, base, flat))
    base += tree.feature.length
  }
  return flat
}

/** Copies the nodes reachable from the root of one tree to `flat` at `base`; returns the tree's depth. */
function copyTree(tree: TreeNodes, t: number, base: number, flat: FlatEnsemble): number {
  const size = tree.feature.length
  const seen = new Uint8Array(size)
  const stack = [0]
  const depthOf = new Int32Array(size)
  let maxDepth = 0
  seen[0] = 1
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const at = base + node
    const depth = depthOf[node] ?? 0
    maxDepth = Math.max(maxDepth, depth)
    if (depth > MAX_TREE_DEPTH) throw invalid(`tree ${t} is deeper than ${MAX_TREE_DEPTH}`)
    const left = tree.left[node] ?? -1
    if (left < 0) {
      // Leaf values and thresholds are float32 in the model and the artifact.
      flat.value[at] = Math.fround(tree.value[node] ?? Number.NaN)
      if (!Number.isFinite(flat.value[at])) throw invalid(`tree ${t} node ${node}: leaf value is not finite`)
      continue
    }
    const right = tree.right[node] ?? -1
    const feature = tree.feature[node] ?? -1
    for (const child of [left, right]) {
      if (!Number.isInteger(child) || child <= 0 || child >= size || seen[child] === 1) {
        throw invalid(`tree ${t} node ${node}: child ${child} is not a new node of the tree`)
      }
      seen[child] = 1
      depthOf[child] = depth + 1
      stack.push(child)
    }
    if (!Number.isInteger(feature) || feature < 0 || feature >= flat.featureCount) {
      throw invalid(`tree ${t} node ${node}: feature ${feature} is outside 0..${flat.featureCount - 1}`)
    }
    const leftCover = tree.cover[left] ?? Number.NaN
    const rightCover = tree.cover[right] ?? Number.NaN
    if (!(leftCover >= 0 && rightCover >= 0 && Number.isFinite(leftCover + rightCover))) {
      throw invalid(`tree ${t} node ${node}: children covers must be finite and non-negative, got ${leftCover} and ${rightCover}`)
    }
    // Normalised by the children (not the stored parent cover) so the two shares add up to 1 even when covers were
    // summed in a different order; a split no training row reached splits the weight evenly.
    const sum = leftCover + rightCover
    flat.fraction[base + left] = sum > 0 ? leftCover / sum : 0.5
    flat.fraction[base + right] = sum > 0 ? rightCover / sum : 0.5
    flat.feature[at] = feature
    flat.threshold[at] = tree.threshold[node] ?? Number.NaN
    flat.left[at] = base + left
    flat.right[at] = base + right
    flat.defaultLeft[at] = tree.defaultLeft[node] === 1 ? 1 : 0
  }
  return maxDepth
}

/** Sum over trees of the cover-weighted mean leaf value. */
function treeMeans(flat: FlatEnsemble): number {
  const { left, right, value, fraction } = flat
  function mean(node: number): number {
    const l = left[node] ?? -1
    if (l < 0) return value[node] ?? 0
    const r = right[node] ?? -1
    return (fraction[l] ?? 0) * mean(l) + (fraction[r] ?? 0) * mean(r)
  }
  let total = 0
  for (const root of flat.roots) total += mean(root)
  return total
}

/**
 * The TreeSHAP recursion over flat typed arrays. A path element is (feature, zero fraction, one fraction, weight):
 * `zero` is the share of cover that follows this path when the feature is unknown, `one` is 1 when the row itself
 * follows it and 0 otherwise (never anything in between in the path-dependent algorithm), and weights are the
 * permutation weights of subsets by size. Each recursion level keeps its own copy of the path in one shared buffer,
 * right after its parent's.
 */
function createKernel(flat: FlatEnsemble): Kernel {
  const { featureCount, roots, feature, threshold, left, right, defaultLeft, value, fraction, maxDepth } = flat
  const pathSize = ((maxDepth + 1) * (maxDepth + 2)) / 2
  const pathFeature = new Int32Array(pathSize)
  const pathZero = new Float64Array(pathSize)
  const pathOne = new Float64Array(pathSize)
  const pathWeight = new Float64Array(pathSize)
  const x = new Float32Array(featureCount)
  const phi = new Float64Array(featureCount)

  // The ratios EXTEND and UNWIND multiply by, for a path whose last index is d and element i: divisions are several
  // times slower than multiplications, and these loops are the whole cost.
  const stride = maxDepth + 1
  const growOne = new Float64Array(stride * stride) // (i + 1) / (d + 1)
  const growZero = new Float64Array(stride * stride) // (d - i) / (d + 1)
  const shrinkOne = new Float64Array(stride * stride) // (d + 1) / (i + 1)
  const shrinkZero = new Float64Array(stride * stride) // (d + 1) / (d - i)
  for (let d = 0; d <= maxDepth; d++) {
    for (let i = 0; i < d; i++) {
      growOne[d * stride + i] = (i + 1) / (d + 1)
      growZero[d * stride + i] = (d - i) / (d + 1)
      shrinkOne[d * stride + i] = (d + 1) / (i + 1)
      shrinkZero[d * stride + i] = (d + 1) / (d - i)
    }
  }

  /**
   * EXTEND, fused with the copy: the path at `offset` becomes the parent's path (`depth` elements at `parentOffset`)
   * plus a new element at index `depth`.
   */
  function extend(parentOffset: number, offset: number, depth: number, zero: number, one: number, splitFeature: number): void {
    for (let i = 0; i < depth; i++) {
      pathFeature[offset + i] = pathFeature[parentOffset + i] ?? -1
      pathZero[offset + i] = pathZero[parentOffset + i] ?? 0
      pathOne[offset + i] = pathOne[parentOffset + i] ?? 0
    }
    pathFeature[offset + depth] = splitFeature
    pathZero[offset + depth] = zero
    pathOne[offset + depth] = one
    pathWeight[offset + depth] = depth === 0 ? 1 : 0
    const row = depth * stride
    for (let i = depth - 1; i >= 0; i--) {
      const weight = pathWeight[parentOffset + i] ?? 0
      pathWeight[offset + i + 1] = (pathWeight[offset + i + 1] ?? 0) + one * weight * (growOne[row + i] ?? 0)
      pathWeight[offset + i] = zero * weight * (growZero[row + i] ?? 0)
    }
  }

  /** UNWIND: removes element `index` from the path whose last element is at `depth`, undoing its extension. */
  function unwind(offset: number, depth: number, index: number): void {
    const zero = pathZero[offset + index] ?? 0
    const row = depth * stride
    if (pathOne[offset + index] !== 0) {
      let next = pathWeight[offset + depth] ?? 0
      for (let i = depth - 1; i >= 0; i--) {
        const weight = pathWeight[offset + i] ?? 0
        const unwound = next * (shrinkOne[row + i] ?? 0)
        pathWeight[offset + i] = unwound
        next = weight - unwound * zero * (growZero[row + i] ?? 0)
      }
    } else {
      const inverse = 1 / zero
      for (let i = depth - 1; i >= 0; i--) pathWeight[offset + i] = (pathWeight[offset + i] ?? 0) * inverse * (shrinkZero[row + i] ?? 0)
    }
    for (let i = index; i < depth; i++) {
      pathFeature[offset + i] = pathFeature[offset + i + 1] ?? -1
      pathZero[offset + i] = pathZero[offset + i + 1] ?? 0
      pathOne[offset + i] = pathOne[offset + i + 1] ?? 0
    }
  }

  /**
   * Adds a leaf's value to every feature on the path, each weighted by the path's total weight with that feature's
   * element unwound. For an element the row does not follow (one = 0) that total is coldSum / zero, so its
   * contribution, (0 - zero) * total * leaf, is the same for all of them: -coldSum * leaf.
   */
  function addLeaf(offset: number, depth: number, leaf: number): void {
    const row = depth * stride
    let coldSum = 0
    for (let i = 0; i < depth; i++) coldSum += (pathWeight[offset + i] ?? 0) * (shrinkZero[row + i] ?? 0)
    const last = pathWeight[offset + depth] ?? 0
    // Element 0 is the root's placeholder (feature -1).
    for (let k = 1; k <= depth; k++) {
      const j = pathFeature[offset + k] ?? 0
      if (pathOne[offset + k] === 0) {
        phi[j] = (phi[j] ?? 0) - coldSum * leaf
        continue
      }
      const zero = pathZero[offset + k] ?? 0
      let next = last
      let total = 0
      for (let i = depth - 1; i >= 0; i--) {
        const unwound = next * (shrinkOne[row + i] ?? 0)
        total += unwound
        next = (pathWeight[offset + i] ?? 0) - unwound * zero * (growZero[row + i] ?? 0)
      }
      phi[j] = (phi[j] ?? 0) + total * (1 - zero) * leaf
    }
  }

  /** `parentLength` elements of the parent's path sit at `parentOffset`; this node's path goes right after them. */
  function recurse(node: number, parentOffset: number, parentLength: number, zero: number, one: number, parentFeature: number): void {
    const offset = parentOffset + parentLength
    extend(parentOffset, offset, parentLength, zero, one, parentFeature)
    let depth = parentLength

    const split = feature[node] ?? -1
    if (split < 0) {
      addLeaf(offset, depth, value[node] ?? 0)
      return
    }

    const v = x[split] ?? Number.NaN
    const goLeft = Number.isNaN(v) ? defaultLeft[node] === 1 : v <= (threshold[node] ?? 0)
    const hot = goLeft ? (left[node] ?? 0) : (right[node] ?? 0)
    const cold = goLeft ? (right[node] ?? 0) : (left[node] ?? 0)

    // A feature already on the path is unwound and re-extended with the product of both splits' fractions.
    let incomingZero = 1
    let incomingOne = 1
    for (let i = 1; i <= depth; i++) {
      if (pathFeature[offset + i] === split) {
        incomingZero = pathZero[offset + i] ?? 0
        incomingOne = pathOne[offset + i] ?? 0
        unwind(offset, depth, i)
        depth--
        break
      }
    }

    // A branch with zero weight both ways contributes exactly nothing (and would divide by zero when unwound).
    const hotZero = (fraction[hot] ?? 0) * incomingZero
    if (hotZero !== 0 || incomingOne !== 0) recurse(hot, offset, depth + 1, hotZero, incomingOne, split)
    const coldZero = (fraction[cold] ?? 0) * incomingZero
    if (coldZero !== 0) recurse(cold, offset, depth + 1, coldZero, 0, split)
  }

  return (values, rowOffset, out, outOffset) => {
    // Float32Array stores round to float32: the comparisons the model and ONNX Runtime make.
    for (let j = 0; j < featureCount; j++) x[j] = values[rowOffset + j] ?? Number.NaN
    phi.fill(0)
    for (const root of roots) recurse(root, 0, 0, 1, 1, -1)
    out.set(phi, outOffset)
  }
}
