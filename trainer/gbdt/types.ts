/**
 * One regression tree in flat arrays. Node 0 is the root; a leaf has `left = right = -1` and `feature = -1`.
 * A row goes left when its float32 value is <= `threshold`, and NaN goes left when `defaultLeft` is 1.
 * Everything TreeSHAP needs is here: structure, leaf values and covers.
 */
export interface Tree {
  readonly feature: Int32Array
  readonly threshold: Float32Array
  readonly left: Int32Array
  readonly right: Int32Array
  readonly defaultLeft: Uint8Array
  /** Leaves: output with the learning rate applied (float32). Inner nodes: the output they would have as a leaf. */
  readonly value: Float32Array
  /** Sum of hessians (sample weights included) of the training rows reaching the node. */
  readonly cover: Float64Array
  /** Training rows reaching the node. */
  readonly count: Int32Array
  /** Loss reduction of the split; 0 for leaves. */
  readonly gain: Float64Array
}

/** A tree as plain JSON arrays (ONNX metadata, registry). */
export interface TreeStructure {
  feature: number[]
  threshold: number[]
  left: number[]
  right: number[]
  defaultLeft: number[]
  value: number[]
  cover: number[]
  count: number[]
  gain: number[]
}

/** A GBDT model as plain JSON. */
export interface GbdtStructure {
  baseScore: number
  featureCount: number
  trees: TreeStructure[]
}

/** Progress of one boosting round, passed to `onIteration`. */
export interface IterationInfo {
  readonly iteration: number
  /** Weighted mean log-loss on the training rows. */
  readonly trainLoss: number
  readonly validationLoss?: number
}
