import type { ScoredLabel } from './types.js'

/**
 * ROC-AUC of scores against labels (Mann-Whitney, ties counted half). NaN when either class is missing,
 * because the AUC is undefined then.
 */
export function rocAuc(scored: readonly ScoredLabel[]): number {
  const count = scored.length
  const order = new Uint32Array(count)
  const scores = new Float64Array(count)
  let positives = 0
  for (let index = 0; index < count; index++) {
    const row = scored[index]
    if (row === undefined) continue
    order[index] = index
    scores[index] = row.probability
    if (row.label) positives++
  }
  const negatives = count - positives
  if (positives === 0 || negatives === 0) return Number.NaN
  order.sort((a, b) => (scores[a] ?? 0) - (scores[b] ?? 0))
  let positiveRankSum = 0
  let start = 0
  while (start < count) {
    let end = start + 1
    const score = scores[order[start] ?? 0]
    while (end < count && scores[order[end] ?? 0] === score) end++
    // Ranks start..end-1 (0-based) share their average, 1-based.
    const averageRank = (start + end + 1) / 2
    for (let position = start; position < end; position++) {
      if (scored[order[position] ?? 0]?.label === true) positiveRankSum += averageRank
    }
    start = end
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

/**
 * The best ROC-AUC a model of the observable state can expect: the AUC of the oracle probabilities against the
 * realised labels of the same observation points.
 */
export function bayesOptimalAuc(observations: readonly ScoredLabel[]): number {
  return rocAuc(observations)
}
