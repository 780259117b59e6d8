import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TreeExplainer, topReasons } from '../../../scoring/explain/index.js'
import { SeededRandom, type Matrix } from '../../../trainer/dataset/index.js'
import { GbdtModel, sigmoid, trainGbdt, type GbdtStructure, type TreeStructure } from '../../../trainer/gbdt/index.js'
import { createOnnxSession, gbdtFromMetadata, gbdtToOnnx, readOnnxMetadata, runOnnx } from '../../../trainer/onnx/index.js'
import { nonlinearData } from '../trainer/fixtures.js'

type RandomNode =
  | { readonly value: number; readonly cover: number }
  | { readonly feature: number; readonly threshold: number; readonly defaultLeft: boolean; readonly left: RandomNode; readonly right: RandomNode }

// Rows take the same values as thresholds often, so ties (a value equal to a threshold goes left) are exercised.
const GRID = [-1, -0.5, 0, 0.25, 1]

function randomTree(features: number): fc.Arbitrary<RandomNode> {
  const leaf = fc.record({
    value: fc.double({ min: -3, max: 3, noNaN: true }).map(Math.fround),
    // Some leaves no training row reached.
    cover: fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.double({ min: 0.01, max: 10, noNaN: true }), weight: 6 }),
  })
  const { node } = fc.letrec<{ node: RandomNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'medium', maxDepth: 6, withCrossShrink: true },
      leaf,
      fc.record({
        feature: fc.nat({ max: features - 1 }),
        threshold: fc.constantFrom(...GRID, Number.POSITIVE_INFINITY),
        defaultLeft: fc.boolean(),
        left: tie('node'),
        right: tie('node'),
      }),
    ),
  }))
  return node
}

/** Pre-order node arrays, as the trainer lays them out; an inner node's cover is the sum of its children's. */
function toStructure(root: RandomNode): TreeStructure {
  const tree: TreeStructure = { feature: [], threshold: [], left: [], right: [], defaultLeft: [], value: [], cover: [], count: [], gain: [] }
  function add(node: RandomNode): number {
    const at = tree.feature.length
    tree.feature.push(-1)
    tree.threshold.push(0)
    tree.left.push(-1)
    tree.right.push(-1)
    tree.defaultLeft.push(0)
    tree.value.push('value' in node ? node.value : 0)
    tree.cover.push('cover' in node ? node.cover : 0)
    tree.count.push(0)
    tree.gain.push(0)
    if ('feature' in node) {
      const left = add(node.left)
      const right = add(node.right)
      tree.feature[at] = node.feature
      tree.threshold[at] = node.threshold
      tree.left[at] = left
      tree.right[at] = right
      tree.defaultLeft[at] = node.defaultLeft ? 1 : 0
      tree.cover[at] = (tree.cover[left] ?? 0) + (tree.cover[right] ?? 0)
    }
    return at
  }
  add(root)
  return tree
}

const forests = fc.integer({ min: 1, max: 6 }).chain((featureCount) =>
  fc.record({
    structure: fc.record({
      baseScore: fc.double({ min: -2, max: 2, noNaN: true }),
      featureCount: fc.constant(featureCount),
      trees: fc.array(randomTree(featureCount).map(toStructure), { minLength: 1, maxLength: 4 }),
    }),
    rows: fc.array(
      fc.array(fc.oneof(fc.constant(Number.NaN), fc.constantFrom(...GRID), fc.double({ min: -2, max: 2, noNaN: true })), {
        minLength: featureCount,
        maxLength: featureCount,
      }),
      { minLength: 1, maxLength: 3 },
    ),
  }),
)

/**
 * E[f(x) | x_S] of one tree, path-dependent: a split on a known feature follows the row (as float32; NaN takes the
 * default branch), a split on an unknown one averages both branches weighted by the children's covers.
 */
function conditionalExpectation(tree: TreeStructure, node: number, row: Float32Array, known: number): number {
  const left = tree.left[node] ?? -1
  if (left < 0) return tree.value[node] ?? 0
  const right = tree.right[node] ?? -1
  const feature = tree.feature[node] ?? 0
  if ((known & (1 << feature)) !== 0) {
    const value = row[feature] ?? Number.NaN
    const goLeft = Number.isNaN(value) ? tree.defaultLeft[node] === 1 : value <= (tree.threshold[node] ?? 0)
    return conditionalExpectation(tree, goLeft ? left : right, row, known)
  }
  const leftCover = tree.cover[left] ?? 0
  const rightCover = tree.cover[right] ?? 0
  const total = leftCover + rightCover
  const leftShare = total > 0 ? leftCover / total : 0.5
  return leftShare * conditionalExpectation(tree, left, row, known) + (1 - leftShare) * conditionalExpectation(tree, right, row, known)
}

/** Shapley values by enumerating every subset of features: exponential, for a handful of features only. */
function bruteForceShapley(model: GbdtStructure, values: readonly number[]): { phi: Float64Array; expected: number } {
  const m = model.featureCount
  const row = Float32Array.from(values)
  const v = new Float64Array(1 << m)
  for (let known = 0; known < 1 << m; known++) {
    v[known] = Math.fround(model.baseScore) + model.trees.reduce((sum, tree) => sum + conditionalExpectation(tree, 0, row, known), 0)
  }
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1))
  const phi = new Float64Array(m)
  for (let i = 0; i < m; i++) {
    for (let known = 0; known < 1 << m; known++) {
      if ((known & (1 << i)) !== 0) continue
      let size = 0
      for (let j = 0; j < m; j++) size += (known >> j) & 1
      const weight = (factorial(size) * factorial(m - size - 1)) / factorial(m)
      phi[i] = (phi[i] ?? 0) + weight * ((v[known | (1 << i)] ?? 0) - (v[known] ?? 0))
    }
  }
  return { phi, expected: v[0] ?? 0 }
}

function hasRepeatedFeatureOnPath(tree: TreeStructure, node = 0, onPath = new Set<number>()): boolean {
  const left = tree.left[node] ?? -1
  if (left < 0) return false
  const feature = tree.feature[node] ?? 0
  if (onPath.has(feature)) return true
  const below = new Set(onPath).add(feature)
  return hasRepeatedFeatureOnPath(tree, left, below) || hasRepeatedFeatureOnPath(tree, tree.right[node] ?? -1, below)
}

function sum(values: Iterable<number>): number {
  let total = 0
  for (const value of values) total += value
  return total
}

function expectClose(actual: number, expected: number, tolerance = 1e-9): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected)))
}

function marginOf(model: GbdtModel, row: ArrayLike<number>): number {
  return model.predictMargin({ rows: 1, cols: row.length, values: Float32Array.from(row) })[0] ?? Number.NaN
}

describe('TreeExplainer on random trees', () => {
  it('equals brute-force Shapley values of the cover-weighted conditional expectation, NaN and repeated features included', () => {
    let withRepeatedFeature = 0
    let rowsWithNaN = 0
    fc.assert(
      fc.property(forests, ({ structure, rows }) => {
        const explainer = new TreeExplainer(structure)
        const model = GbdtModel.fromStructure(structure)
        if (structure.trees.some((tree) => hasRepeatedFeatureOnPath(tree))) withRepeatedFeature++
        for (const row of rows) {
          if (row.some(Number.isNaN)) rowsWithNaN++
          const phi = explainer.contributions(row)
          const exact = bruteForceShapley(structure, row)
          expectClose(explainer.expectedValue, exact.expected)
          exact.phi.forEach((value, j) => { expectClose(phi[j] ?? Number.NaN, value) })
          expectClose(sum(phi) + explainer.expectedValue, marginOf(model, row))
        }
      }),
      { numRuns: 400 },
    )
    expect(withRepeatedFeature).toBeGreaterThan(40)
    expect(rowsWithNaN).toBeGreaterThan(40)
  })

  it('unwinds a feature split three times on one path, with NaN taking the learned default each time', () => {
    // x0 <= 0 (NaN right) -> x1 <= 1 (NaN left) -> x0 <= -1 (NaN left) -> x0 <= 0.25 (NaN right); x2 is never used.
    const tree: TreeStructure = {
      feature: [0, 1, 0, 0, -1, -1, -1, -1, -1],
      threshold: [0, 1, -1, 0.25, 0, 0, 0, 0, 0],
      left: [1, 2, 4, 5, -1, -1, -1, -1, -1],
      right: [8, 7, 3, 6, -1, -1, -1, -1, -1],
      defaultLeft: [0, 1, 1, 0, 0, 0, 0, 0, 0],
      value: [0, 0, 0, 0, -1.5, 0.5, 2, 0.75, -0.25],
      cover: [20, 14, 10, 6, 4, 3, 3, 4, 6],
      count: [0, 0, 0, 0, 0, 0, 0, 0, 0],
      gain: [0, 0, 0, 0, 0, 0, 0, 0, 0],
    }
    const structure: GbdtStructure = { baseScore: -0.5, featureCount: 3, trees: [tree] }
    const explainer = new TreeExplainer(structure)
    for (const row of [[-0.5, 0, 7], [Number.NaN, Number.NaN, 7], [-2, Number.NaN, Number.NaN], [0.25, 3, 0], [Number.NaN, 1, 0]]) {
      const phi = explainer.contributions(row)
      const exact = bruteForceShapley(structure, row)
      exact.phi.forEach((value, j) => { expectClose(phi[j] ?? Number.NaN, value, 1e-12) })
      expect(phi[2]).toBe(0)
      expectClose(sum(phi) + explainer.expectedValue, marginOf(GbdtModel.fromStructure(structure), row), 1e-12)
    }
  })

  it('gives the same contributions one row at a time and in a batch', () => {
    fc.assert(
      fc.property(forests, ({ structure, rows }) => {
        const explainer = new TreeExplainer(structure)
        const batch = explainer.explainBatch(Float64Array.from(rows.flat()), rows.length)
        rows.forEach((row, r) => {
          expect(batch.subarray(r * structure.featureCount, (r + 1) * structure.featureCount)).toEqual(explainer.contributions(row))
        })
      }),
      { numRuns: 100 },
    )
  })

  it('rejects rows of the wrong width and structures that are not trees', () => {
    const leaf: TreeStructure = { feature: [-1], threshold: [0], left: [-1], right: [-1], defaultLeft: [0], value: [0.5], cover: [1], count: [1], gain: [0] }
    const explainer = new TreeExplainer({ baseScore: 0, featureCount: 2, trees: [leaf] })
    expect(explainer.expectedValue).toBe(0.5)
    expect(Array.from(explainer.contributions([1, Number.NaN]))).toEqual([0, 0])
    expect(() => explainer.contributions([1])).toThrow(/expects 2 features/)
    expect(() => explainer.explainBatch(new Float64Array(5), 2)).toThrow(/expected 2 rows x 2 features/)
    const cycle = { ...leaf, feature: [0, -1], threshold: [0, 0], left: [1, -1], right: [0, -1], defaultLeft: [0, 0], value: [0, 1], cover: [1, 1] }
    expect(() => new TreeExplainer({ baseScore: 0, featureCount: 1, trees: [cycle] })).toThrow(/not a new node/)
    const outOfRange = { ...cycle, right: [1, -1], left: [1, -1] }
    expect(() => new TreeExplainer({ baseScore: 0, featureCount: 1, trees: [outOfRange] })).toThrow(/not a new node/)
    const split = { ...cycle, feature: [3, -1, -1], threshold: [0, 0, 0], left: [1, -1, -1], right: [2, -1, -1], defaultLeft: [0, 0, 0], value: [0, 1, 2], cover: [2, 1, 1] }
    expect(() => new TreeExplainer({ baseScore: 0, featureCount: 2, trees: [split] })).toThrow(/feature 3 is outside 0..1/)
  })
})

/** `rows` x `cols` features with a nonlinear label and NaN in a tenth of the values of the first half of the columns. */
function dataWithMissing(rows: number, cols: number, seed: number): { x: Matrix; y: Uint8Array } {
  const { x, y } = nonlinearData(rows, cols, seed)
  const random = new SeededRandom(seed + 1)
  for (let row = 0; row < rows; row++) {
    for (let j = 0; j < cols / 2; j++) if (random.float() < 0.1) x.values[row * cols + j] = Number.NaN
  }
  return { x, y }
}

function rowOf(x: Matrix, row: number): Float32Array {
  return x.values.subarray(row * x.cols, (row + 1) * x.cols)
}

// A few hundred trees explained on a machine shared with other runs: more than the default 5 s.
describe('TreeExplainer on trained models', { timeout: 30_000 }, () => {
  const cols = 8
  const train = dataWithMissing(3_000, cols, 1)
  const test = dataWithMissing(400, cols, 2)
  const { model } = trainGbdt(train, { numTrees: 300, learningRate: 0.1, numLeaves: 15, baggingFraction: 0.8, featureFraction: 0.8, seed: 3 })
  const explainer = new TreeExplainer(model)
  const featureNames = Array.from({ length: cols }, (_, j) => `f${j}`)

  it('adds up to the model margin on every row (local accuracy), NaN rows included', () => {
    expect(model.trees.length).toBe(300)
    const margin = model.predictMargin(test.x)
    const phi = explainer.explainBatch(test.x.values, test.x.rows)
    for (let row = 0; row < test.x.rows; row++) {
      expectClose(sum(phi.subarray(row * cols, (row + 1) * cols)) + explainer.expectedValue, margin[row] ?? Number.NaN)
    }
  })

  it('compares float64 inputs as float32, like the model and ONNX Runtime', () => {
    // Values within half a float32 step above a threshold round onto it and go left.
    const tree = model.trees[0]
    const node = tree?.left[0] ?? -1
    expect(node).toBeGreaterThanOrEqual(0)
    const threshold = tree?.threshold[0] ?? 0
    const row = Float64Array.from(rowOf(test.x, 0))
    row[tree?.feature[0] ?? 0] = threshold + Math.abs(threshold) * 2 ** -26
    expectClose(sum(explainer.contributions(row)) + explainer.expectedValue, marginOf(model, row))
  })

  it('equals brute-force Shapley values on a small trained model', () => {
    const small = dataWithMissing(1_000, 5, 4)
    const trained = trainGbdt(small, { numTrees: 25, learningRate: 0.2, numLeaves: 8, seed: 5 }).model
    const structure = trained.toStructure()
    const smallExplainer = new TreeExplainer(trained)
    for (let row = 0; row < 30; row++) {
      const values = Array.from(rowOf(small.x, row))
      const exact = bruteForceShapley(structure, values)
      const phi = smallExplainer.contributions(values)
      exact.phi.forEach((value, j) => { expectClose(phi[j] ?? Number.NaN, value) })
    }
  })

  it('gives the same contributions after an ONNX round trip, and adds up to what ONNX Runtime computes', async () => {
    const bytes = gbdtToOnnx(model, { featureNames, featureSetVersion: 'tree-shap-test' })
    const metadata = readOnnxMetadata(bytes)
    const rebuilt = new TreeExplainer(gbdtFromMetadata(metadata))
    const x: Matrix = { rows: 100, cols, values: test.x.values.subarray(0, 100 * cols) }
    const expected = explainer.explainBatch(x.values, x.rows)
    expect(rebuilt.expectedValue).toBe(explainer.expectedValue)
    expect(rebuilt.explainBatch(x.values, x.rows)).toEqual(expected)
    if (metadata.trees === undefined) throw new Error('the artifact has no tree structure')
    expect(new TreeExplainer(metadata.trees).explainBatch(x.values, x.rows)).toEqual(expected)

    const session = await createOnnxSession(bytes)
    try {
      const { probability } = await runOnnx(session, x)
      for (let row = 0; row < x.rows; row++) {
        const margin = sum(expected.subarray(row * cols, (row + 1) * cols)) + explainer.expectedValue
        expect(Math.abs(sigmoid(margin) - (probability[row] ?? Number.NaN))).toBeLessThanOrEqual(1e-5)
      }
    } finally {
      await session.release()
    }
  })
})

describe('topReasons', () => {
  it('returns the k largest contributions by magnitude with their values, null for missing', () => {
    const reasons = topReasons([0.1, -0.7, 0, 0.3, -0.2], ['a', 'b', 'c', 'd', 'e'], [1, Number.NaN, 3, 4, 5])
    expect(reasons).toEqual([
      { feature: 'b', contribution: -0.7, value: null },
      { feature: 'd', contribution: 0.3, value: 4 },
      { feature: 'e', contribution: -0.2, value: 5 },
    ])
    expect(topReasons([0.1, -0.7, 0, 0.3, -0.2], ['a', 'b', 'c', 'd', 'e'], [1, 2, 3, 4, 5], 1).map((reason) => reason.feature)).toEqual(['b'])
    expect(topReasons([0.1, -0.7], ['a', 'b'], [1, 2], 0)).toEqual([])
  })

  it('never reports a feature that contributes nothing', () => {
    expect(topReasons([0, 0.5, 0, 0], ['a', 'b', 'c', 'd'], [1, 2, 3, 4])).toEqual([{ feature: 'b', contribution: 0.5, value: 2 }])
  })

  it('sorts by |contribution| descending, ties in feature order, and keeps exactly the top k', () => {
    const cases = fc.integer({ min: 0, max: 12 }).chain((n) =>
      fc.record({
        contributions: fc.array(fc.oneof(fc.constant(0), fc.constantFrom(-1, 1, 0.5), fc.double({ min: -5, max: 5, noNaN: true })), { minLength: n, maxLength: n }),
        values: fc.array(fc.oneof(fc.constant(Number.NaN), fc.double({ noNaN: true })), { minLength: n, maxLength: n }),
        k: fc.integer({ min: 0, max: 14 }),
      }),
    )
    fc.assert(
      fc.property(cases, ({ contributions, values, k }) => {
        const names = contributions.map((_, j) => `feature_${j}`)
        const reasons = topReasons(contributions, names, values, k)
        const nonZero = contributions.map((contribution, j) => ({ j, magnitude: Math.abs(contribution) })).filter(({ magnitude }) => magnitude > 0)
        const expected = nonZero.sort((a, b) => b.magnitude - a.magnitude || a.j - b.j).slice(0, k)
        expect(reasons).toEqual(expected.map(({ j }) => ({
          feature: names[j],
          contribution: contributions[j],
          value: Number.isNaN(values[j]) ? null : values[j],
        })))
      }),
    )
  })

  it('rejects mismatched lengths and a bad k', () => {
    expect(() => topReasons([1, 2], ['a'], [1, 2])).toThrow(/2 contributions, 1 feature names/)
    expect(() => topReasons([1], ['a'], [1], -1)).toThrow(/k must be/)
  })
})
