import { describe, expect, it } from 'vitest'
import { binMatrix, binOf, fitBinning, fitFeatureBinning } from '../../../trainer/gbdt/index.js'
import { SeededRandom, matrixFromColumns } from '../../../trainer/dataset/index.js'

describe('quantile binning', () => {
  it('gives each distinct value its own bin when there are few, with float32 edges between neighbours', () => {
    const binning = fitFeatureBinning(Float32Array.from([3, 1, 2, 2, 1, 3, 0.1]), 255)
    expect(Array.from(binning.upperEdges)).toEqual([Math.fround(0.55), 1.5, 2.5, Number.POSITIVE_INFINITY])
    expect(binning.missingBin).toBe(4)
    for (const edge of binning.upperEdges) expect(Math.fround(edge)).toBe(edge)
    expect([0.1, 1, 2, 3, 1e9, Number.NaN].map((value) => binOf(binning, Math.fround(value)))).toEqual([0, 1, 2, 3, 3, 4])
  })

  it('keeps neighbouring float32 values apart even when their midpoint rounds onto the upper one', () => {
    const low = Math.fround(1)
    const high = Math.fround(1 + 2 ** -23)
    const binning = fitFeatureBinning(Float32Array.from([low, high]), 255)
    expect(binOf(binning, low)).toBe(0)
    expect(binOf(binning, high)).toBe(1)
  })

  it('caps value bins at maxBins with roughly equal counts, plus one bin for NaN', () => {
    const random = new SeededRandom(7)
    const values = Float32Array.from({ length: 20_000 }, () => random.normal())
    const binning = fitFeatureBinning(values.slice(), 255)
    expect(binning.upperEdges.length).toBeLessThanOrEqual(255)
    expect(binning.upperEdges.length).toBeGreaterThan(200)
    const counts = new Array<number>(binning.missingBin + 1).fill(0)
    for (const value of values) counts[binOf(binning, value)] = (counts[binOf(binning, value)] ?? 0) + 1
    const valueCounts = counts.slice(0, -1)
    expect(Math.max(...valueCounts)).toBeLessThan(3 * (20_000 / 255))
    expect(counts[binning.missingBin]).toBe(0)
  })

  it('gives a heavy value a bin of its own', () => {
    const values = Float32Array.from([...new Array<number>(900).fill(0), ...Array.from({ length: 1000 }, (_, i) => 1 + i)])
    const binning = fitFeatureBinning(values, 16)
    const zeroBin = binOf(binning, 0)
    expect(binOf(binning, 1)).not.toBe(zeroBin)
    expect(zeroBin === 0 ? true : binOf(binning, -1) === zeroBin).toBe(true)
  })

  it('bins a matrix column-major into bytes with a missing bin per feature', () => {
    const x = matrixFromColumns([[1, 2, Number.NaN, 4], [Number.NaN, Number.NaN, Number.NaN, Number.NaN]])
    const binning = fitBinning(x, 255, 1000, 0)
    const binned = binMatrix(x, binning)
    expect(binned.columns[0]).toBeInstanceOf(Uint8Array)
    expect(Array.from(binned.columns[0] ?? [])).toEqual([0, 1, 3, 2])
    expect(Array.from(binned.numBins)).toEqual([4, 2])
    expect(Array.from(binned.columns[1] ?? [])).toEqual([1, 1, 1, 1])
  })
})
