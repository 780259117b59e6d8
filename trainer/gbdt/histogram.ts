/**
 * Gradient/hessian histograms. One Float64Array holds every feature: feature f owns the cells
 * `offsets[f] .. offsets[f] + numBins[f]`, each cell three numbers (gradient sum, hessian sum, row count).
 */
export interface HistogramLayout {
  readonly offsets: Int32Array
  readonly numBins: Int32Array
  /** Length of one histogram array (3 numbers per cell). */
  readonly length: number
}

export function histogramLayout(numBins: Int32Array): HistogramLayout {
  const offsets = new Int32Array(numBins.length)
  let cells = 0
  numBins.forEach((bins, f) => {
    offsets[f] = cells
    cells += bins
  })
  return { offsets, numBins, length: 3 * cells }
}

/** Rows of one leaf: `rows[begin .. end)`; `identity` when `rows[i] === i` over the range (the root without bagging). */
export interface RowRange {
  readonly rows: Int32Array
  readonly begin: number
  readonly end: number
  readonly identity: boolean
}

/**
 * Gathers the gradients of a leaf's rows into leaf order, so the histogram loops read them sequentially.
 * Not needed (and not done) for an identity range.
 */
export function gatherGradients(range: RowRange, gradient: Float64Array, hessian: Float64Array, scratchGradient: Float64Array, scratchHessian: Float64Array): void {
  const { rows, begin, end } = range
  for (let i = begin; i < end; i++) {
    const row = rows[i] ?? 0
    scratchGradient[i - begin] = gradient[row] ?? 0
    scratchHessian[i - begin] = hessian[row] ?? 0
  }
}

/** Builds the histograms of `features` over a leaf's rows on this thread. */
export function buildHistogram(
  target: Float64Array,
  layout: HistogramLayout,
  columns: readonly Uint8Array[],
  features: Int32Array,
  range: RowRange,
  gradient: Float64Array,
  hessian: Float64Array,
  scratchGradient: Float64Array,
  scratchHessian: Float64Array,
): void {
  if (!range.identity) gatherGradients(range, gradient, hessian, scratchGradient, scratchHessian)
  accumulateFeatures(
    target, layout.offsets, layout.numBins, columns, features, 0, features.length, range.rows, range.begin, range.end - range.begin,
    range.identity, range.identity ? gradient : scratchGradient, range.identity ? hessian : scratchHessian,
  )
}

/*
 * The accumulation kernels below also run in histogram worker threads, which receive their source text: they must
 * stay self-contained (no references outside these functions).
 */

/**
 * Zeroes and fills the histograms of `features[from .. to)`. With `identity`, row `begin + i` has gradient `g[begin + i]`;
 * otherwise row `rows[begin + i]` has the gathered gradient `g[i]`. Four features share one pass over the rows: four
 * independent accumulation chains keep the CPU busy where one would wait on its own stores.
 */
export function accumulateFeatures(
  target: Float64Array, offsets: Int32Array, numBins: Int32Array, columns: readonly Uint8Array[], features: Int32Array,
  from: number, to: number, rows: Int32Array, begin: number, n: number, identity: boolean, g: Float64Array, h: Float64Array,
): void {
  const empty = new Uint8Array(0)
  const start = (feature: number): number => {
    const offset = 3 * (offsets[feature] ?? 0)
    target.fill(0, offset, offset + 3 * (numBins[feature] ?? 0))
    return offset
  }
  let k = from
  for (; k + 3 < to; k += 4) {
    const f0 = features[k] ?? 0
    const f1 = features[k + 1] ?? 0
    const f2 = features[k + 2] ?? 0
    const f3 = features[k + 3] ?? 0
    const four = [columns[f0] ?? empty, columns[f1] ?? empty, columns[f2] ?? empty, columns[f3] ?? empty] as const
    const starts = [start(f0), start(f1), start(f2), start(f3)] as const
    if (identity) accumulate4Direct(target, four, starts, begin, n, g, h)
    else accumulate4(target, four, starts, rows, begin, n, g, h)
  }
  for (; k < to; k++) {
    const feature = features[k] ?? 0
    if (identity) accumulate1Direct(target, columns[feature] ?? empty, start(feature), begin, n, g, h)
    else accumulate1(target, columns[feature] ?? empty, start(feature), rows, begin, n, g, h)
  }
}

type Four<T> = readonly [T, T, T, T]

export function accumulate4(
  target: Float64Array, columns: Four<Uint8Array>, starts: Four<number>,
  rows: Int32Array, begin: number, n: number, g: Float64Array, h: Float64Array,
): void {
  const [c0, c1, c2, c3] = columns
  const [s0, s1, s2, s3] = starts
  for (let i = 0; i < n; i++) {
    const row = rows[begin + i] ?? 0
    const gi = g[i] ?? 0
    const hi = h[i] ?? 0
    const a = s0 + 3 * (c0[row] ?? 0)
    const b = s1 + 3 * (c1[row] ?? 0)
    const c = s2 + 3 * (c2[row] ?? 0)
    const d = s3 + 3 * (c3[row] ?? 0)
    target[a] = (target[a] ?? 0) + gi
    target[a + 1] = (target[a + 1] ?? 0) + hi
    target[a + 2] = (target[a + 2] ?? 0) + 1
    target[b] = (target[b] ?? 0) + gi
    target[b + 1] = (target[b + 1] ?? 0) + hi
    target[b + 2] = (target[b + 2] ?? 0) + 1
    target[c] = (target[c] ?? 0) + gi
    target[c + 1] = (target[c + 1] ?? 0) + hi
    target[c + 2] = (target[c + 2] ?? 0) + 1
    target[d] = (target[d] ?? 0) + gi
    target[d + 1] = (target[d + 1] ?? 0) + hi
    target[d + 2] = (target[d + 2] ?? 0) + 1
  }
}

export function accumulate4Direct(
  target: Float64Array, columns: Four<Uint8Array>, starts: Four<number>,
  begin: number, n: number, g: Float64Array, h: Float64Array,
): void {
  const [c0, c1, c2, c3] = columns
  const [s0, s1, s2, s3] = starts
  const end = begin + n
  for (let row = begin; row < end; row++) {
    const gi = g[row] ?? 0
    const hi = h[row] ?? 0
    const a = s0 + 3 * (c0[row] ?? 0)
    const b = s1 + 3 * (c1[row] ?? 0)
    const c = s2 + 3 * (c2[row] ?? 0)
    const d = s3 + 3 * (c3[row] ?? 0)
    target[a] = (target[a] ?? 0) + gi
    target[a + 1] = (target[a + 1] ?? 0) + hi
    target[a + 2] = (target[a + 2] ?? 0) + 1
    target[b] = (target[b] ?? 0) + gi
    target[b + 1] = (target[b + 1] ?? 0) + hi
    target[b + 2] = (target[b + 2] ?? 0) + 1
    target[c] = (target[c] ?? 0) + gi
    target[c + 1] = (target[c + 1] ?? 0) + hi
    target[c + 2] = (target[c + 2] ?? 0) + 1
    target[d] = (target[d] ?? 0) + gi
    target[d + 1] = (target[d + 1] ?? 0) + hi
    target[d + 2] = (target[d + 2] ?? 0) + 1
  }
}

export function accumulate1(
  target: Float64Array, column: Uint8Array, offset: number, rows: Int32Array, begin: number, n: number, g: Float64Array, h: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    const cell = offset + 3 * (column[rows[begin + i] ?? 0] ?? 0)
    target[cell] = (target[cell] ?? 0) + (g[i] ?? 0)
    target[cell + 1] = (target[cell + 1] ?? 0) + (h[i] ?? 0)
    target[cell + 2] = (target[cell + 2] ?? 0) + 1
  }
}

export function accumulate1Direct(
  target: Float64Array, column: Uint8Array, offset: number, begin: number, n: number, g: Float64Array, h: Float64Array,
): void {
  const end = begin + n
  for (let row = begin; row < end; row++) {
    const cell = offset + 3 * (column[row] ?? 0)
    target[cell] = (target[cell] ?? 0) + (g[row] ?? 0)
    target[cell + 1] = (target[cell + 1] ?? 0) + (h[row] ?? 0)
    target[cell + 2] = (target[cell + 2] ?? 0) + 1
  }
}

/** `parent -= child` over the cells of `features`: the parent's histogram becomes the sibling's. */
export function subtractHistogram(parent: Float64Array, child: Float64Array, layout: HistogramLayout, features: Int32Array): void {
  for (const feature of features) {
    const start = 3 * (layout.offsets[feature] ?? 0)
    const end = start + 3 * (layout.numBins[feature] ?? 0)
    for (let k = start; k < end; k++) parent[k] = (parent[k] ?? 0) - (child[k] ?? 0)
  }
}
