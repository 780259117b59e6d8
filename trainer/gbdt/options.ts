import { z } from 'zod'
import { parseOptions } from '../dataset/parse-options.js'

/**
 * Options of the histogram GBDT for binary log-loss. Names follow LightGBM where one exists
 * (num_leaves, min_data_in_leaf, lambda_l2, ...), so tuning knowledge carries over.
 */
export const gbdtOptionsSchema = z.strictObject({
  /** Boosting rounds (an upper bound when early stopping is on). @default 500 */
  numTrees: z.number().int().min(1).max(100_000).default(500),
  /** Shrinkage applied to every leaf value. @default 0.05 */
  learningRate: z.number().gt(0).max(1).default(0.05),
  /** Maximum leaves per tree; trees grow leaf-wise, best gain first. @default 31 */
  numLeaves: z.number().int().min(2).max(65_536).default(31),
  /** Maximum depth of a leaf (root = 0); unlimited when absent. */
  maxDepth: z.number().int().min(1).max(64).optional(),
  /** L2 regularisation of leaf values (lambda). @default 0 */
  lambdaL2: z.number().min(0).default(0),
  /** Minimum sum of hessians in a child (min_child_weight). @default 0.001 */
  minChildWeight: z.number().min(0).default(1e-3),
  /** Minimum number of training rows in a leaf. @default 20 */
  minSamplesLeaf: z.number().int().min(1).default(20),
  /** Minimum loss reduction to make a split. @default 0 */
  minSplitGain: z.number().min(0).default(0),
  /** Fraction of rows sampled without replacement for each tree (bagging). @default 1 */
  baggingFraction: z.number().gt(0).max(1).default(1),
  /** Fraction of features sampled for each tree. @default 1 */
  featureFraction: z.number().gt(0).max(1).default(1),
  /** Value bins per feature, computed from quantiles of the data; NaN has a bin of its own on top. @default 255 */
  maxBins: z.number().int().min(2).max(255).default(255),
  /** Rows sampled to find bin edges. @default 200000 */
  binSampleSize: z.number().int().min(1).default(200_000),
  /** Stop when the validation loss has not improved for this many rounds (needs a validation set). @default 50 */
  earlyStoppingRounds: z.number().int().min(1).default(50),
  /**
   * When no validation set is given: hold out this stratified fraction of the training rows for early stopping, then
   * refit on all rows with the number of trees found. Off when absent.
   */
  validationFraction: z.number().gt(0).lt(1).optional(),
  /** Weight multiplier of positive rows (class weighting). @default 1 */
  scalePosWeight: z.number().gt(0).default(1),
  /**
   * Threads building histograms (the calling thread plus workers); results do not depend on it. 0 picks up to
   * 2 for data of at least a million values, else 1. @default 0
   */
  threads: z.number().int().min(0).max(64).default(0),
  /** Seed of every random choice (bagging, feature sampling, inner validation split). @default 0 */
  seed: z.number().int().default(0),
})

export type GbdtOptionsInput = z.input<typeof gbdtOptionsSchema>
export type GbdtOptions = z.output<typeof gbdtOptionsSchema>

export function resolveGbdtOptions(input: GbdtOptionsInput = {}): GbdtOptions {
  return parseOptions(gbdtOptionsSchema, input, 'GBDT')
}
