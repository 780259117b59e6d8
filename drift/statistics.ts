/**
 * Distribution-shift statistics between a window and a reference, both given as binned distributions.
 *
 * Binning follows `ReferenceDistribution` (trainer/onnx/metadata.ts): with edges e_0 < ... < e_{k-1}, value bin i holds
 * e_{i-1} < v <= e_i (bin 0 unbounded below, bin k above). A histogram in this module has k + 2 slots: the k + 1 value
 * bins, then one slot for missing values (NaN), so a shift in the missing fraction moves PSI, chi-square and JS too.
 */

/**
 * Replaces an empty bin's proportion in PSI, where ln(0) is undefined. 1e-4 is the customary choice: a bin empty on
 * one side and holding share q on the other adds (q - 1e-4) ln(q / 1e-4), about 0.1 for q = 0.02, so one rare
 * category appearing or vanishing registers without swamping the index.
 */
export const PSI_EPSILON = 1e-4

/** Value bin of `value` on `edges` (first i with value <= edges[i], else edges.length); NaN is the missing slot edges.length + 1. */
export function binIndex(edges: ArrayLike<number>, value: number): number {
  if (Number.isNaN(value)) return edges.length + 1
  let low = 0
  let high = edges.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (value <= (edges[middle] ?? Number.POSITIVE_INFINITY)) high = middle
    else low = middle + 1
  }
  return low
}

/** Counts of `values` in the k + 2 slots of `edges` (value bins, then missing). */
export function histogram(edges: ArrayLike<number>, values: Iterable<number>): number[] {
  const counts = new Array<number>(edges.length + 2).fill(0)
  for (const value of values) {
    const slot = binIndex(edges, value)
    counts[slot] = (counts[slot] ?? 0) + 1
  }
  return counts
}

/**
 * Probabilities of the k + 2 slots of a reference: the value-bin frequencies scaled by the non-missing share, then the
 * missing fraction. Frequencies that do not sum to 1 (rounding, or no values at all) are renormalised.
 */
export function referenceProbabilities(reference: { readonly frequencies: readonly number[]; readonly missingFraction: number }): number[] {
  const missing = Math.min(1, Math.max(0, reference.missingFraction))
  const total = reference.frequencies.reduce((sum, frequency) => sum + Math.max(0, frequency), 0)
  const present = total > 0 ? 1 - missing : 0
  const values = reference.frequencies.map((frequency) => (total > 0 ? (Math.max(0, frequency) / total) * present : 0))
  return [...values, total > 0 ? missing : 1]
}

function proportions(counts: ArrayLike<number>): number[] {
  let total = 0
  for (const value of Array.prototype.slice.call(counts) as number[]) total += value
  const out = new Array<number>(counts.length)
  for (let i = 0; i < counts.length; i++) out[i] = total > 0 ? (counts[i] ?? 0) / total : 0
  return out
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: ${a.length} bins against ${b.length}`)
}

/**
 * Population stability index sum (a_i - e_i) ln(a_i / e_i) of `actual` against `expected` (counts or proportions,
 * each normalised here). An empty bin's proportion is replaced by `epsilon` (see PSI_EPSILON); a bin empty on both sides
 * adds nothing. Every term is >= 0, so PSI is >= 0 and 0 only for identical distributions. NaN when `actual` is empty.
 */
export function psi(actual: ArrayLike<number>, expected: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  checkSameLength(actual, expected, 'psi')
  const a = proportions(actual)
  const e = proportions(expected)
  if (a.every((p) => p === 0) || e.every((p) => p === 0)) return Number.NaN
  let index = 0
  for (let i = 0; i < a.length; i++) {
    const ai = a[i] ?? 0
    const ei = e[i] ?? 0
    if (ai === 0 && ei === 0) continue
    const p = Math.max(ai, epsilon)
    const q = Math.max(ei, epsilon)
    index += (p - q) * Math.log(p / q)
  }
  return index
}

/**
 * Kolmogorov-Smirnov statistic of a window against a reference, on the binned CDFs: the largest |F_window(e_i) -
 * F_reference(e_i)| over the edges. Only non-missing values count (the missing fraction is compared by PSI, chi-square
 * and JS). `windowCounts` has the k + 2 slots of `histogram` (or k + 1 value bins); `referenceFrequencies` the k + 1
 * value-bin frequencies. It is a lower bound of the exact two-sample statistic (the CDFs are compared at the edges
 * only), in [0, 1]; NaN when the window has no value.
 */
export function ksStatistic(windowCounts: ArrayLike<number>, referenceFrequencies: ArrayLike<number>): number {
  const bins = referenceFrequencies.length
  if (windowCounts.length !== bins && windowCounts.length !== bins + 1) {
    throw new RangeError(`ks: ${windowCounts.length} window slots for ${bins} reference bins`)
  }
  let windowTotal = 0
  let referenceTotal = 0
  for (let i = 0; i < bins; i++) {
    windowTotal += windowCounts[i] ?? 0
    referenceTotal += Math.max(0, referenceFrequencies[i] ?? 0)
  }
  if (windowTotal === 0 || referenceTotal === 0) return Number.NaN
  let windowCdf = 0
  let referenceCdf = 0
  let largest = 0
  for (let i = 0; i < bins - 1; i++) {
    windowCdf += (windowCounts[i] ?? 0) / windowTotal
    referenceCdf += Math.max(0, referenceFrequencies[i] ?? 0) / referenceTotal
    largest = Math.max(largest, Math.abs(windowCdf - referenceCdf))
  }
  return Math.min(1, largest)
}

export interface ChiSquareResult {
  /** Pearson's statistic of the 2 x k table. */
  readonly statistic: number
  readonly degreesOfFreedom: number
  /** P(X >= statistic) for X chi-square with `degreesOfFreedom`; 1 when there is one category only. */
  readonly pValue: number
}

/**
 * Chi-square test of homogeneity between the window's counts and the reference's (proportions x the reference's row
 * count): is the window drawn from the same categorical distribution as the training rows? A 2 x k table, categories
 * empty on both sides dropped, k - 1 degrees of freedom. Treating the reference as a sample rather than the truth keeps a
 * category unseen in training finite (a goodness-of-fit test would give it an infinite statistic); for a reference much
 * larger than the window the two tests agree. Undefined (NaN statistic and p) when either side is empty.
 */
export function chiSquareTest(windowCounts: ArrayLike<number>, referenceProportions: ArrayLike<number>, referenceCount: number): ChiSquareResult {
  checkSameLength(windowCounts, referenceProportions, 'chi-square')
  const reference = proportions(referenceProportions).map((p) => p * referenceCount)
  let windowTotal = 0
  let referenceTotal = 0
  const kept: number[] = []
  for (let i = 0; i < windowCounts.length; i++) {
    const w = windowCounts[i] ?? 0
    const r = reference[i] ?? 0
    if (w + r <= 0) continue
    kept.push(i)
    windowTotal += w
    referenceTotal += r
  }
  if (windowTotal <= 0 || referenceTotal <= 0) return { statistic: Number.NaN, degreesOfFreedom: 0, pValue: Number.NaN }
  const grand = windowTotal + referenceTotal
  let statistic = 0
  for (const i of kept) {
    const w = windowCounts[i] ?? 0
    const r = reference[i] ?? 0
    const column = w + r
    const expectedWindow = (column * windowTotal) / grand
    const expectedReference = (column * referenceTotal) / grand
    statistic += (w - expectedWindow) ** 2 / expectedWindow + (r - expectedReference) ** 2 / expectedReference
  }
  const degreesOfFreedom = kept.length - 1
  return { statistic, degreesOfFreedom, pValue: degreesOfFreedom === 0 ? 1 : chiSquareSurvival(statistic, degreesOfFreedom) }
}

/**
 * Jensen-Shannon divergence in bits between two binned distributions (counts or proportions, each normalised here):
 * (KL(P || M) + KL(Q || M)) / 2 with M = (P + Q) / 2. Symmetric, in [0, 1], 0 only for identical distributions; needs
 * no smoothing since M > 0 wherever P or Q is. NaN when either side is empty.
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>): number {
  checkSameLength(p, q, 'jensen-shannon')
  const a = proportions(p)
  const b = proportions(q)
  if (a.every((x) => x === 0) || b.every((x) => x === 0)) return Number.NaN
  let divergence = 0
  for (let i = 0; i < a.length; i++) {
    const ai = a[i] ?? 0
    const bi = b[i] ?? 0
    const mi = (ai + bi) / 2
    if (ai > 0) divergence += ai * Math.log2(ai / mi)
    if (bi > 0) divergence += bi * Math.log2(bi / mi)
  }
  return Math.min(1, Math.max(0, divergence / 2))
}

/** Slot of a probability among `bins` equal-width bins of [0, 1]; 1 falls in the last bin, values outside are clamped. */
export function scoreBin(probability: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.floor(probability * bins)))
}

/** Counts of probabilities in `bins` equal-width bins of [0, 1] (NaN skipped). */
export function scoreHistogram(probabilities: Iterable<number>, bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`score histogram: bins must be a positive integer, got ${bins}`)
  const counts = new Array<number>(bins).fill(0)
  for (const p of probabilities) {
    if (Number.isNaN(p)) continue
    const bin = scoreBin(p, bins)
    counts[bin] = (counts[bin] ?? 0) + 1
  }
  return counts
}

// Lanczos approximation (g = 7, n = 9), relative error below 1e-15 for positive arguments.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
]

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x)
  const z = x - 1
  let sum = LANCZOS[0] ?? 1
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] ?? 0) / (z + i)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum)
}

const GAMMA_ITERATIONS = 10_000
const GAMMA_EPSILON = 1e-15
const TINY = 1e-300

/**
 * Regularised incomplete gamma functions P(a, x) and Q(a, x) = 1 - P(a, x), for a > 0, x >= 0: the series for x < a + 1,
 * the continued fraction (modified Lentz) otherwise, each computing the smaller side directly so tail probabilities
 * keep their relative precision.
 */
export function regularizedGamma(a: number, x: number): { readonly lower: number; readonly upper: number } {
  if (!(a > 0) || !(x >= 0)) return { lower: Number.NaN, upper: Number.NaN }
  if (x === 0) return { lower: 0, upper: 1 }
  if (x === Number.POSITIVE_INFINITY) return { lower: 1, upper: 0 }
  const logPrefix = a * Math.log(x) - x - logGamma(a)
  if (x < a + 1) {
    let term = 1 / a
    let sum = term
    for (let n = 1; n < GAMMA_ITERATIONS; n++) {
      term *= x / (a + n)
      sum += term
      if (Math.abs(term) < Math.abs(sum) * GAMMA_EPSILON) break
    }
    const lower = Math.min(1, sum * Math.exp(logPrefix))
    return { lower, upper: 1 - lower }
  }
  let b = x + 1 - a
  let c = 1 / TINY
  let d = 1 / b
  let fraction = d
  for (let n = 1; n < GAMMA_ITERATIONS; n++) {
    const an = -n * (n - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < TINY) d = TINY
    c = b + an / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const delta = d * c
    fraction *= delta
    if (Math.abs(delta - 1) < GAMMA_EPSILON) break
  }
  const upper = Math.min(1, Math.exp(logPrefix) * fraction)
  return { lower: 1 - upper, upper }
}

/** P(X >= statistic) for X chi-square with `degreesOfFreedom` (> 0). */
export function chiSquareSurvival(statistic: number, degreesOfFreedom: number): number {
  if (Number.isNaN(statistic)) return Number.NaN
  if (statistic <= 0) return 1
  return regularizedGamma(degreesOfFreedom / 2, statistic / 2).upper
}
