import { describe, expect, it } from 'vitest'
import { SeededRandom, matrixFromColumns } from '../../../trainer/dataset/index.js'
import { binMatrix, fitBinning } from '../../../trainer/gbdt/index.js'
import { buildHistogram, histogramLayout, subtractHistogram } from '../../../trainer/gbdt/histogram.js'
import { createHistogramBuilder } from '../../../trainer/gbdt/histogram-builder.js'

function fixture(rows: number, cols: number) {
  const random = new SeededRandom(3)
  const x = matrixFromColumns(Array.from({ length: cols }, (_, j) =>
    Array.from({ length: rows }, () => (random.float() < 0.1 ? Number.NaN : j % 3 === 0 ? random.int(4) : random.normal()))))
  const binned = binMatrix(x, fitBinning(x, 64, rows, 0))
  const gradient = Float64Array.from({ length: rows }, () => random.float() - 0.5)
  const hessian = Float64Array.from({ length: rows }, () => random.float() * 0.25)
  return { x, binned, gradient, hessian }
}

describe('histograms', () => {
  it('parent minus the smaller child equals the larger child built directly', () => {
    const rows = 2_000
    const { binned, gradient, hessian } = fixture(rows, 7)
    const layout = histogramLayout(binned.numBins)
    const features = Int32Array.from({ length: 7 }, (_, f) => f)
    const order = Int32Array.from({ length: rows }, (_, row) => row)
    const scratch = [new Float64Array(rows), new Float64Array(rows)] as const
    const build = (range: { begin: number; end: number; rows: Int32Array; identity: boolean }): Float64Array => {
      const histogram = new Float64Array(layout.length)
      buildHistogram(histogram, layout, binned.columns, features, range, gradient, hessian, scratch[0], scratch[1])
      return histogram
    }
    const parent = build({ rows: order, begin: 0, end: rows, identity: true })
    // Partition on feature 1 like a split would: left rows first, both sides ascending.
    const left = Array.from(order).filter((row) => (binned.columns[1]?.[row] ?? 0) <= 20)
    const right = Array.from(order).filter((row) => (binned.columns[1]?.[row] ?? 0) > 20)
    const partitioned = Int32Array.from([...left, ...right])
    const leftHistogram = build({ rows: partitioned, begin: 0, end: left.length, identity: false })
    const rightHistogram = build({ rows: partitioned, begin: left.length, end: rows, identity: false })
    subtractHistogram(parent, leftHistogram, layout, features)
    parent.forEach((value, k) => {
      if (k % 3 === 2) expect(value).toBe(rightHistogram[k])
      else expect(value).toBeCloseTo(rightHistogram[k] ?? Number.NaN, 10)
    })
  })

  it('sums every row exactly once into its bin per feature', () => {
    const rows = 500
    const { binned, gradient, hessian } = fixture(rows, 3)
    const layout = histogramLayout(binned.numBins)
    const histogram = new Float64Array(layout.length)
    const order = Int32Array.from({ length: rows }, (_, row) => row)
    buildHistogram(histogram, layout, binned.columns, Int32Array.from([0, 1, 2]), { rows: order, begin: 0, end: rows, identity: true },
      gradient, hessian, new Float64Array(rows), new Float64Array(rows))
    for (let f = 0; f < 3; f++) {
      let count = 0
      let g = 0
      for (let bin = 0; bin < (binned.numBins[f] ?? 0); bin++) {
        const cell = 3 * ((layout.offsets[f] ?? 0) + bin)
        g += histogram[cell] ?? 0
        count += histogram[cell + 2] ?? 0
      }
      expect(count).toBe(rows)
      expect(g).toBeCloseTo(gradient.reduce((sum, value) => sum + value, 0), 9)
    }
  })

  it('builds bit-identical histograms with worker threads and on the calling thread', () => {
    const rows = 30_000
    const { x, gradient, hessian } = fixture(rows, 13)
    const binning = fitBinning(x, 255, rows, 0)
    const serial = createHistogramBuilder(binMatrix(x, binning), 4, 1)
    const threaded = createHistogramBuilder(binMatrix(x, binning, true), 4, 2)
    try {
      const features = Int32Array.from([0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12])
      const subset = Int32Array.from({ length: rows }, (_, row) => row).filter((row) => row % 3 !== 1)
      for (const builder of [serial, threaded]) {
        builder.gradient.set(gradient)
        builder.hessian.set(hessian)
        builder.rows.set(subset)
      }
      // Many back-to-back builds: whichever thread takes a share, the sums must not change.
      const random = new SeededRandom(11)
      const a = serial.acquire()
      const b = threaded.acquire()
      let mismatches = 0
      for (let build = 0; build < 80; build++) {
        const begin = build === 0 ? 0 : random.int(10_000)
        const end = build === 0 ? subset.length : begin + 8_000 + random.int(10_000)
        serial.build(a, features, begin, end, false)
        threaded.build(b, features, begin, end, false)
        for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) mismatches++
      }
      expect(mismatches).toBe(0)
    } finally {
      serial.close()
      threaded.close()
    }
  }, 30_000)
})
