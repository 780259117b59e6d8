import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { SeededRandom } from '../dataset/random.js'

/** Row indices of the two sides of a split, ascending. */
export interface HoldoutSplit {
  readonly train: Int32Array
  readonly holdout: Int32Array
}

/**
 * Stratified k-fold assignment: positives and negatives are shuffled separately (seeded) and dealt round-robin, so
 * every fold has the class balance of the whole. Returns the fold (0 .. k-1) of each row.
 */
export function stratifiedKFold(labels: ArrayLike<number>, folds: number, seed: number): Int32Array {
  if (!Number.isInteger(folds) || folds < 2) throw new ChurnError(ErrorCodes.VALIDATION, `folds: expected an integer >= 2, got ${folds}`)
  if (labels.length < folds) throw new ChurnError(ErrorCodes.VALIDATION, `folds: ${folds} folds need at least as many rows, got ${labels.length}`)
  const random = new SeededRandom(seed)
  const assignment = new Int32Array(labels.length)
  let next = 0
  for (const label of [1, 0]) {
    const members: number[] = []
    for (let i = 0; i < labels.length; i++) if ((labels[i] === 1 ? 1 : 0) === label) members.push(i)
    const order = random.shuffle(Int32Array.from(members))
    // Continue the round-robin across classes so fold sizes differ by at most one.
    for (const row of order) {
      assignment[row] = next
      next = (next + 1) % folds
    }
  }
  return assignment
}

/** Rows of fold `fold` as holdout, the others as train. */
export function foldSplit(assignment: Int32Array, fold: number): HoldoutSplit {
  const train: number[] = []
  const holdout: number[] = []
  assignment.forEach((assigned, row) => {
    if (assigned === fold) holdout.push(row)
    else train.push(row)
  })
  return { train: Int32Array.from(train), holdout: Int32Array.from(holdout) }
}

/** A seeded stratified holdout of about `fraction` of the rows of each class. */
export function stratifiedHoldout(labels: ArrayLike<number>, fraction: number, seed: number): HoldoutSplit {
  if (!(fraction > 0 && fraction < 1)) throw new ChurnError(ErrorCodes.VALIDATION, `holdout fraction: expected 0 < f < 1, got ${fraction}`)
  const random = new SeededRandom(seed)
  const inHoldout = new Uint8Array(labels.length)
  for (const label of [1, 0]) {
    const members: number[] = []
    for (let i = 0; i < labels.length; i++) if ((labels[i] === 1 ? 1 : 0) === label) members.push(i)
    const order = random.shuffle(Int32Array.from(members))
    const take = Math.round(order.length * fraction)
    for (let k = 0; k < take; k++) inHoldout[order[k] ?? 0] = 1
  }
  return splitByMask(inHoldout)
}

export type Timestamp = number | string | Date

function toMillis(value: Timestamp, row: number): number {
  const millis = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value)
  if (!Number.isFinite(millis)) throw new ChurnError(ErrorCodes.VALIDATION, `timestamp of row ${row} is not a time: ${String(value)}`)
  return millis
}

/**
 * Time-ordered holdout: the most recent rows (about `fraction` of them) are the holdout, never a random sample, so
 * evaluation looks like deployment (train on the past, score the future). Rows sharing the cut-off time all go to the
 * holdout, so no instant is split across the two sides.
 */
export function timeHoldoutSplit(timestamps: ArrayLike<Timestamp>, fraction: number): HoldoutSplit & { readonly cutoff: number } {
  if (!(fraction > 0 && fraction < 1)) throw new ChurnError(ErrorCodes.VALIDATION, `holdout fraction: expected 0 < f < 1, got ${fraction}`)
  const millis = Float64Array.from({ length: timestamps.length }, (_, row) => toMillis(timestamps[row] ?? Number.NaN, row))
  const sorted = Float64Array.from(millis).sort()
  const holdoutSize = Math.max(1, Math.round(millis.length * fraction))
  const cutoff = sorted[millis.length - holdoutSize] ?? Number.POSITIVE_INFINITY
  const inHoldout = millis.map((value) => (value >= cutoff ? 1 : 0))
  const split = splitByMask(inHoldout)
  if (split.train.length === 0) throw new ChurnError(ErrorCodes.VALIDATION, 'time holdout: every row is at or after the cut-off; nothing left to train on')
  return { ...split, cutoff }
}

function splitByMask(inHoldout: ArrayLike<number>): HoldoutSplit {
  const train: number[] = []
  const holdout: number[] = []
  for (let row = 0; row < inHoldout.length; row++) {
    if (inHoldout[row] === 1) holdout.push(row)
    else train.push(row)
  }
  return { train: Int32Array.from(train), holdout: Int32Array.from(holdout) }
}
