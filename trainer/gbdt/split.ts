import type { HistogramLayout } from './histogram.js'

export interface SplitParams {
  readonly lambdaL2: number
  readonly minChildWeight: number
  readonly minSamplesLeaf: number
  readonly minSplitGain: number
}

/** Gradient statistics of a set of rows. */
export interface LeafStats {
  readonly gradient: number
  readonly hessian: number
  readonly count: number
}

/** The best split of a leaf: rows with bin <= thresholdBin go left, the missing bin follows `defaultLeft`. */
export interface SplitCandidate {
  readonly feature: number
  readonly thresholdBin: number
  readonly defaultLeft: boolean
  readonly gain: number
  readonly left: LeafStats
  readonly right: LeafStats
}

/** Loss reduction score of a leaf with these sums (the factor 1/2 is left out, as in LightGBM). */
export function leafScore(gradient: number, hessian: number, lambdaL2: number): number {
  return (gradient * gradient) / (hessian + lambdaL2)
}

/** Leaf value minimising the second-order loss approximation. */
export function leafOutput(gradient: number, hessian: number, lambdaL2: number): number {
  return -gradient / (hessian + lambdaL2)
}

/**
 * Scans every value-bin boundary of every feature in both missing directions (NaN left, NaN right) and returns the
 * split with the largest gain, or undefined when none passes the constraints. Ties keep the first candidate found
 * (lowest feature, lowest bin), which keeps training deterministic.
 */
export function findBestSplit(
  histogram: Float64Array,
  layout: HistogramLayout,
  features: Int32Array,
  total: LeafStats,
  params: SplitParams,
): SplitCandidate | undefined {
  const { lambdaL2, minChildWeight, minSamplesLeaf } = params
  const parentScore = leafScore(total.gradient, total.hessian, lambdaL2)
  // Gains within rounding error of zero are noise (e.g. a histogram built by subtraction), not structure.
  const minGain = Math.max(params.minSplitGain, 1e-12 * Math.abs(parentScore))
  let bestGain = minGain
  let bestFeature = -1
  let bestBin = 0
  let bestDefaultLeft = false
  let bestLeftG = 0
  let bestLeftH = 0
  let bestLeftC = 0

  for (const feature of features) {
    const valueBins = (layout.numBins[feature] ?? 1) - 1
    const start = 3 * (layout.offsets[feature] ?? 0)
    const missing = start + 3 * valueBins
    const missingG = histogram[missing] ?? 0
    const missingH = histogram[missing + 1] ?? 0
    const missingC = histogram[missing + 2] ?? 0
    const hasMissing = missingC > 0
    let g = 0
    let h = 0
    let c = 0
    // The last value bin only matters as "every value left, NaN right".
    const lastBin = hasMissing ? valueBins - 1 : valueBins - 2
    for (let bin = 0; bin <= lastBin; bin++) {
      const cell = start + 3 * bin
      g += histogram[cell] ?? 0
      h += histogram[cell + 1] ?? 0
      c += histogram[cell + 2] ?? 0

      // NaN goes right.
      const rightC = total.count - c
      if (c >= minSamplesLeaf && h >= minChildWeight && rightC >= minSamplesLeaf) {
        const rightH = total.hessian - h
        if (rightH >= minChildWeight) {
          const gain = leafScore(g, h, lambdaL2) + leafScore(total.gradient - g, rightH, lambdaL2) - parentScore
          if (gain > bestGain) {
            bestGain = gain
            bestFeature = feature
            bestBin = bin
            // Without NaN rows in this leaf the direction is free: send future NaN to the larger child.
            bestDefaultLeft = !hasMissing && c >= rightC
            bestLeftG = g
            bestLeftH = h
            bestLeftC = c
          }
        }
      }

      // NaN goes left.
      if (hasMissing && bin < valueBins - 1) {
        const leftG = g + missingG
        const leftH = h + missingH
        const leftC = c + missingC
        const rightC2 = total.count - leftC
        const rightH2 = total.hessian - leftH
        if (leftC >= minSamplesLeaf && leftH >= minChildWeight && rightC2 >= minSamplesLeaf && rightH2 >= minChildWeight) {
          const gain = leafScore(leftG, leftH, lambdaL2) + leafScore(total.gradient - leftG, rightH2, lambdaL2) - parentScore
          if (gain > bestGain) {
            bestGain = gain
            bestFeature = feature
            bestBin = bin
            bestDefaultLeft = true
            bestLeftG = leftG
            bestLeftH = leftH
            bestLeftC = leftC
          }
        }
      }
      if (total.count - c < minSamplesLeaf) break
    }
  }
  if (bestFeature < 0) return undefined
  return {
    feature: bestFeature,
    thresholdBin: bestBin,
    defaultLeft: bestDefaultLeft,
    gain: bestGain,
    left: { gradient: bestLeftG, hessian: bestLeftH, count: bestLeftC },
    right: { gradient: total.gradient - bestLeftG, hessian: total.hessian - bestLeftH, count: total.count - bestLeftC },
  }
}
