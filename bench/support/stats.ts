/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2
}

/** The p-th percentile (0-100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}

export function formatRate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`
}

/** A line such as `sdk 41,000/s vs bare 52,000/s: ratio 0.79 (target >= 0.70) PASS`. */
export function verdict(label: string, ratio: number, target: number, higherIsBetter = true): string {
  const pass = higherIsBetter ? ratio >= target : ratio <= target
  return `${label}: ratio ${ratio.toFixed(2)} (target ${higherIsBetter ? '>=' : '<='} ${target}) ${pass ? 'PASS' : 'FAIL'}`
}
