/**
 * One regression tree as node arrays (node 0 is the root; a leaf has `left = -1`). A row goes left when its float32
 * value is <= `threshold`; NaN goes left when `defaultLeft` is 1. The trainer's `Tree` (typed arrays) and the plain
 * `TreeStructure` stored in ONNX metadata both have this shape.
 */
export interface TreeNodes {
  readonly feature: ArrayLike<number>
  readonly threshold: ArrayLike<number>
  readonly left: ArrayLike<number>
  readonly right: ArrayLike<number>
  readonly defaultLeft: ArrayLike<number>
  /** Leaf output (float32, learning rate applied); ignored on inner nodes. */
  readonly value: ArrayLike<number>
  /** Sum of training hessians reaching the node: the weight of each branch when its feature is unknown. */
  readonly cover: ArrayLike<number>
}

/** A tree ensemble whose margin is `baseScore` plus one leaf value per tree (a `GbdtModel` or a `GbdtStructure`). */
export interface TreeEnsemble {
  readonly baseScore: number
  readonly featureCount: number
  readonly trees: readonly TreeNodes[]
}

/** One feature's share of a score, as emitted in `top reasons`. */
export interface Reason {
  readonly feature: string
  /** SHAP value in margin (log-odds) space. */
  readonly contribution: number
  /** The feature's input value; null when missing. */
  readonly value: number | null
}

/** Explains one row: contributions to the margin (log-odds), one per feature, summing with `expectedValue` to the margin. */
export interface Explainer {
  readonly expectedValue: number
  contributions(row: ArrayLike<number>): Float64Array
}
