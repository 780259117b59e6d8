import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  PSI_EPSILON,
  binIndex,
  chiSquareSurvival,
  chiSquareTest,
  histogram,
  jensenShannon,
  ksStatistic,
  logGamma,
  psi,
  referenceProbabilities,
  regularizedGamma,
  scoreHistogram,
} from '../../../drift/index.js'

const counts = (length: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: length, maxLength: length })
const nonEmptyPair = fc.integer({ min: 1, max: 12 }).chain((length) => fc.tuple(counts(length), counts(length))).filter(([a, b]) => a.some((x) => x > 0) && b.some((x) => x > 0))

describe('binning', () => {
  it('puts v in the first bin whose upper edge is >= v, NaN in the missing slot', () => {
    const edges = [1, 2, 3]
    expect([0.5, 1, 1.5, 2, 3, 3.1, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NaN].map((v) => binIndex(edges, v))).toEqual([0, 0, 1, 1, 2, 3, 0, 3, 4])
    expect(binIndex([], 7)).toBe(0)
    expect(binIndex([], Number.NaN)).toBe(1)
  })

  it('matches a linear scan on any sorted edges', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: -50, max: 50 }), { maxLength: 12 }), fc.double({ min: -60, max: 60, noNaN: true }), (raw, value) => {
      const edges = [...raw].sort((a, b) => a - b)
      const linear = edges.findIndex((edge) => value <= edge)
      expect(binIndex(edges, value)).toBe(linear === -1 ? edges.length : linear)
    }))
  })

  it('counts value bins then missing values', () => {
    expect(histogram([0.5], [0, 0, 1, Number.NaN, 1, 1])).toEqual([2, 3, 1])
  })

  it('spreads the reference frequencies over the non-missing share and appends the missing fraction', () => {
    expect(referenceProbabilities({ frequencies: [0.5, 0.5], missingFraction: 0.2 })).toEqual([0.4, 0.4, 0.2])
    // A feature never present in training: all mass on "missing".
    expect(referenceProbabilities({ frequencies: [0, 0], missingFraction: 1 })).toEqual([0, 0, 1])
    expect(referenceProbabilities({ frequencies: [0, 0], missingFraction: 0 })).toEqual([0, 0, 1])
  })

  it('bins scores on equal-width bins with 1 in the last', () => {
    expect(scoreHistogram([0, 0.05, 0.5, 0.99, 1, Number.NaN], 10)).toEqual([2, 0, 0, 0, 0, 1, 0, 0, 0, 2])
    expect(() => scoreHistogram([0.5], 0)).toThrow(RangeError)
  })
})

describe('population stability index', () => {
  it('sums (a - e) ln(a / e) over the bins', () => {
    // (0.5 - 0.25) ln 2 + (0.5 - 0.75) ln(2/3) = 0.25 (0.693147 + 0.405465)
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.274653, 6)
    expect(psi([50, 50], [1, 3])).toBeCloseTo(0.274653, 6)
  })

  it('replaces an empty bin by epsilon and ignores bins empty on both sides', () => {
    const expected = (1 - 0.5) * Math.log(1 / 0.5) + (PSI_EPSILON - 0.5) * Math.log(PSI_EPSILON / 0.5)
    expect(psi([10, 0, 0], [5, 5, 0])).toBeCloseTo(expected, 12)
    expect(Number.isFinite(psi([10, 0], [0, 10]))).toBe(true)
  })

  it('is undefined for an empty window', () => {
    expect(psi([0, 0], [1, 1])).toBeNaN()
  })

  it('is >= 0, and 0 for identical distributions', () => {
    fc.assert(fc.property(nonEmptyPair, ([a, b]) => {
      expect(psi(a, b)).toBeGreaterThanOrEqual(0)
      expect(psi(a, a)).toBe(0)
      expect(psi(a, a.map((x) => x * 3))).toBeCloseTo(0, 12)
    }))
  })
})

describe('Kolmogorov-Smirnov on binned CDFs', () => {
  it('takes the largest CDF gap at the edges, ignoring missing values', () => {
    // Window CDF at the edges 0.1, 0.4; reference 0.3, 0.6.
    expect(ksStatistic([10, 30, 60, 0], [0.3, 0.3, 0.4])).toBeCloseTo(0.2, 12)
    expect(ksStatistic([10, 30, 60, 50], [0.3, 0.3, 0.4])).toBeCloseTo(0.2, 12)
    expect(ksStatistic([0, 0, 10], [1, 0, 0])).toBe(1)
  })

  it('is undefined without a value in the window', () => {
    expect(ksStatistic([0, 0, 7], [0.5, 0.5])).toBeNaN()
  })

  it('is in [0, 1] and 0 against its own distribution', () => {
    fc.assert(fc.property(nonEmptyPair, ([a, b]) => {
      const ks = ksStatistic(a, b)
      if (Number.isNaN(ks)) return
      expect(ks).toBeGreaterThanOrEqual(0)
      expect(ks).toBeLessThanOrEqual(1)
      expect(ksStatistic(a, a)).toBeCloseTo(0, 12)
    }))
  })
})

describe('chi-square test of homogeneity', () => {
  it('computes the statistic of the 2 x k table and its p-value', () => {
    // Window [10, 20, 30]; reference 60 rows in shares 1/2, 1/3, 1/6 = [30, 20, 10]. Every expected cell is
    // 40 x 60 / 120 = 20, so chi2 = 4 x (10^2 / 20) = 20 on 2 degrees of freedom, p = exp(-20 / 2).
    const result = chiSquareTest([10, 20, 30], [1 / 2, 1 / 3, 1 / 6], 60)
    expect(result.statistic).toBeCloseTo(20, 10)
    expect(result.degreesOfFreedom).toBe(2)
    expect(result.pValue).toBeCloseTo(Math.exp(-10), 15)
  })

  it('drops categories empty on both sides and keeps one unseen in training finite', () => {
    const result = chiSquareTest([10, 0, 20, 30], [1 / 2, 0, 1 / 3, 1 / 6], 60)
    expect(result.statistic).toBeCloseTo(20, 10)
    expect(result.degreesOfFreedom).toBe(2)
    const unseen = chiSquareTest([90, 10], [1, 0], 1_000)
    expect(Number.isFinite(unseen.statistic)).toBe(true)
    expect(unseen.pValue).toBeLessThan(1e-6)
  })

  it('gives p = 1 for a window that matches the reference exactly, and for a single category', () => {
    expect(chiSquareTest([25, 75], [0.25, 0.75], 400).pValue).toBeCloseTo(1, 12)
    expect(chiSquareTest([5, 0], [1, 0], 10)).toEqual({ statistic: 0, degreesOfFreedom: 0, pValue: 1 })
    expect(chiSquareTest([0, 0], [0.5, 0.5], 10).pValue).toBeNaN()
  })
})

describe('regularised incomplete gamma', () => {
  it('matches closed forms: Q(1, x) = e^-x and Q(n, x) = e^-x sum_{k<n} x^k / k!', () => {
    for (const x of [0.01, 0.5, 1, 3, 10, 40]) expect(regularizedGamma(1, x).upper).toBeCloseTo(Math.exp(-x), 14)
    const poisson = (n: number, x: number): number => {
      let term = 1
      let sum = 0
      for (let k = 0; k < n; k++) {
        sum += term
        term *= x / (k + 1)
      }
      return Math.exp(-x) * sum
    }
    for (const [n, x] of [[3, 2], [5, 1], [10, 15], [10, 5], [25, 30], [60, 40]] as const) {
      const { upper, lower } = regularizedGamma(n, x)
      expect(upper).toBeCloseTo(poisson(n, x), 12)
      expect(upper + lower).toBeCloseTo(1, 14)
    }
  })

  it('keeps the precision of small tail probabilities', () => {
    // Q(1, 50) = e^-50 ~ 1.9e-22: relative, not absolute, accuracy.
    expect(regularizedGamma(1, 50).upper / Math.exp(-50)).toBeCloseTo(1, 10)
  })

  it('reproduces the chi-square table', () => {
    // Critical values at 5 %, 1 % and 0.1 % (Abramowitz & Stegun, table 26.8).
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 10)
    expect(chiSquareSurvival(6.634896601021214, 1)).toBeCloseTo(0.01, 10)
    expect(chiSquareSurvival(10.827566170662733, 1)).toBeCloseTo(0.001, 10)
    expect(chiSquareSurvival(5.991464547107979, 2)).toBeCloseTo(0.05, 10)
    expect(chiSquareSurvival(11.070497693516351, 5)).toBeCloseTo(0.05, 10)
    expect(chiSquareSurvival(18.307038053275146, 10)).toBeCloseTo(0.05, 10)
    expect(chiSquareSurvival(43.77297182574219, 30)).toBeCloseTo(0.05, 10)
    expect(chiSquareSurvival(124.34211340400407, 100)).toBeCloseTo(0.05, 10)
    expect(chiSquareSurvival(0, 4)).toBe(1)
  })

  it('falls as the statistic grows', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 400, noNaN: true }), fc.double({ min: 0, max: 50, noNaN: true }), (df, x, step) => {
      const p = chiSquareSurvival(x, df)
      expect(p).toBeGreaterThanOrEqual(0)
      expect(p).toBeLessThanOrEqual(1)
      expect(chiSquareSurvival(x + step, df)).toBeLessThanOrEqual(p + 1e-12)
    }))
  })

  it('computes ln Gamma', () => {
    expect(logGamma(1)).toBeCloseTo(0, 14)
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14)
    expect(logGamma(10)).toBeCloseTo(Math.log(362_880), 12)
    let logFactorial = 0
    for (let k = 2; k <= 170; k++) logFactorial += Math.log(k)
    expect(logGamma(171) / logFactorial).toBeCloseTo(1, 13)
  })
})

describe('Jensen-Shannon divergence', () => {
  it('is 0 for identical and 1 for disjoint distributions', () => {
    expect(jensenShannon([1, 2, 3], [2, 4, 6])).toBeCloseTo(0, 14)
    expect(jensenShannon([1, 0], [0, 1])).toBe(1)
  })

  it('averages the divergences from the midpoint, in bits', () => {
    // M = [0.75, 0.25]; KL(P||M) = log2(4/3) = 0.415037; KL(Q||M) = 0.5 log2(2/3) + 0.5 log2(2) = 0.207519.
    expect(jensenShannon([1, 0], [0.5, 0.5])).toBeCloseTo((0.415037 + 0.207519) / 2, 6)
  })

  it('is symmetric and in [0, 1]', () => {
    fc.assert(fc.property(nonEmptyPair, ([a, b]) => {
      const js = jensenShannon(a, b)
      expect(js).toBeGreaterThanOrEqual(0)
      expect(js).toBeLessThanOrEqual(1)
      expect(jensenShannon(b, a)).toBeCloseTo(js, 14)
    }))
  })
})
