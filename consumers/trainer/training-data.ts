import type { ClickHouseClient } from '@clickhouse/client'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { DAY_MS, type FeatureSet } from '../../feature-store/feature-set.js'
import { buildTrainingSet } from '../../feature-store/offline/training-set.js'
import type { Matrix } from '../../trainer/dataset/types.js'
import { INSUFFICIENT_DATA, type TrainingData } from '../../trainer/pipeline/index.js'

export interface TrainingWindowOptions {
  readonly horizonDays: number
  readonly sampleEveryDays: number
  readonly lookbackDays: number
  readonly warmupDays: number
  /** Days before the data end whose streamed feature vectors are the drift reference. */
  readonly referenceDays: number
}

/** Most streamed vectors the drift reference is drawn from (a sample stable under replays). */
const referenceRows = 50_000
/** Fewer streamed vectors than this, and the training rows serve as the reference. */
const minReferenceRows = 500

/**
 * The feature vectors the stream emitted (the offline store's snapshots of `customer.features`) in the last
 * `days` before `dataEnd`: sampled as the drift role will see live vectors (one per change, at its event time)
 * rather than as the training rows are (every customer every few days), so that a stationary stream does not
 * read as drift. A deterministic sample by hash of the source position.
 */
async function streamedReference(client: ClickHouseClient, featureSet: FeatureSet, dataEnd: number, days: number): Promise<Matrix | undefined> {
  const rows = await (
    await client.query({
      query: `SELECT values FROM feature_snapshots FINAL
        WHERE feature_set_version = {version:String}
          AND toUnixTimestamp64Milli(as_of) > {from:Int64} AND toUnixTimestamp64Milli(as_of) <= {to:Int64}
        ORDER BY cityHash64(src_topic, src_partition, src_offset)
        LIMIT {limit:UInt32}`,
      query_params: { version: featureSet.version, from: dataEnd - days * DAY_MS, to: dataEnd, limit: referenceRows },
      format: 'JSONCompactEachRow',
    })
  ).json<[(number | string | null)[]]>()
  if (rows.length < minReferenceRows) return undefined
  const cols = featureSet.names.length
  const values = new Float32Array(rows.length * cols)
  rows.forEach(([vector], row) => {
    for (let col = 0; col < cols; col += 1) {
      const value = vector[col]
      values[row * cols + col] = value === null || value === undefined ? Number.NaN : Number(value)
    }
  })
  return { rows: rows.length, cols, values }
}

/** Where a run's training data begin and end. */
export interface TrainingWindow {
  /** Event time the data end at (or the newest event, if earlier). */
  readonly asOf: number
  /**
   * The data begin here (a drift's start), not a lookback before the data end; and the run needs the store to reach
   * `asOf` first, since that is when enough labels after the drift have matured.
   */
  readonly from?: number
}

/** The store does not reach the data a run needs yet. */
export interface DataPending {
  readonly pending: true
  /** Newest event in the offline store. */
  readonly reached: number
  readonly needed: number
}

export interface LoadedTrainingData {
  readonly data: TrainingData
  /** Newest event time the training set may use: labels need the whole horizon before it. */
  readonly dataEnd: number
  /** First and last observation time. */
  readonly observations: { readonly from: number; readonly to: number; readonly count: number }
  readonly dataHash: string
}

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * The training set for a run as of `asOf` (event time): every active customer observed every `sampleEveryDays`, the
 * newest observation `horizonDays` before the data end (its label needs the whole horizon), the oldest at most
 * `lookbackDays` before that and never inside the first `warmupDays` of the store's history (from its first event other
 * than a signup). The data end is `asOf`, or the newest event in the offline store if that is earlier. Features and
 * labels come from the point-in-time builder. With `from` (a drift-triggered run), no observation is older than it,
 * and until the store reaches `asOf` the data are reported pending instead.
 */
export async function loadTrainingData(client: ClickHouseClient, featureSet: FeatureSet, options: TrainingWindowOptions, window: TrainingWindow): Promise<LoadedTrainingData | DataPending> {
  const { asOf } = window
  const [bounds] = await (
    await client.query({
      // Signups are often imported from long before the store's history begins: its first other event marks the start.
      query: `SELECT countIf(type != 'signup') AS n, toUnixTimestamp64Milli(minIf(event_time, type != 'signup')) AS first,
        toUnixTimestamp64Milli(max(event_time)) AS last FROM customer_events`,
      format: 'JSONEachRow',
    })
  ).json<{ n: number | string; first: number | string; last: number | string }>()
  const insufficient = (message: string): ChurnError => new ChurnError(ErrorCodes.VALIDATION, `not enough training data: ${message}`, { details: { kind: INSUFFICIENT_DATA } })
  if (bounds === undefined || Number(bounds.n) === 0) throw insufficient('the offline store holds no customer activity')
  const first = Number(bounds.first)
  const last = Number(bounds.last)
  if (window.from !== undefined && last < asOf) return { pending: true, reached: last, needed: asOf }
  const dataEnd = Math.min(asOf, last)
  const to = dataEnd - options.horizonDays * DAY_MS
  const earliest = Math.max(first + options.warmupDays * DAY_MS, to - options.lookbackDays * DAY_MS, window.from ?? Number.NEGATIVE_INFINITY)
  if (to < earliest) {
    throw insufficient(`events from ${iso(first)} to ${iso(dataEnd)} do not cover ${options.warmupDays} warm-up days and a ${options.horizonDays}-day horizon`)
  }
  // Step back from the newest observation, so the most recent slice (the holdout) is as recent as the labels allow.
  const step = options.sampleEveryDays * DAY_MS
  const from = to - Math.floor((to - earliest) / step) * step
  const set = await buildTrainingSet(client, featureSet, { sampling: { everyDays: options.sampleEveryDays, from, to }, horizonDays: options.horizonDays, dataEnd })
  const rows = set.observations.length
  if (rows === 0) throw insufficient(`no active customer between ${iso(from)} and ${iso(to)}`)
  const asOfTimes = Float64Array.from(set.observations, (observation) => observation.as_of)
  const reference = await streamedReference(client, featureSet, dataEnd, options.referenceDays)
  return {
    data: {
      featureNames: set.featureNames,
      featureSetVersion: set.featureSetVersion,
      x: { rows, cols: set.featureNames.length, values: Float32Array.from(set.features) },
      y: set.labels,
      asOf: asOfTimes,
      horizonDays: set.horizonDays,
      ...(reference === undefined ? {} : { reference }),
    },
    dataEnd,
    observations: { from: set.window.from, to: set.window.to, count: rows },
    dataHash: set.dataHash,
  }
}
