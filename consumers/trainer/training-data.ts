import type { ClickHouseClient } from '@clickhouse/client'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { DAY_MS, type FeatureSet } from '../../feature-store/feature-set.js'
import { buildTrainingSet } from '../../feature-store/offline/training-set.js'
import { INSUFFICIENT_DATA, type TrainingData } from '../../trainer/pipeline/index.js'

export interface TrainingWindowOptions {
  readonly horizonDays: number
  readonly sampleEveryDays: number
  readonly lookbackDays: number
  readonly warmupDays: number
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
 * labels come from the point-in-time builder.
 */
export async function loadTrainingData(client: ClickHouseClient, featureSet: FeatureSet, options: TrainingWindowOptions, asOf: number): Promise<LoadedTrainingData> {
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
  const dataEnd = Math.min(asOf, Number(bounds.last))
  const to = dataEnd - options.horizonDays * DAY_MS
  const earliest = Math.max(first + options.warmupDays * DAY_MS, to - options.lookbackDays * DAY_MS)
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
  return {
    data: {
      featureNames: set.featureNames,
      featureSetVersion: set.featureSetVersion,
      x: { rows, cols: set.featureNames.length, values: Float32Array.from(set.features) },
      y: set.labels,
      asOf: asOfTimes,
      horizonDays: set.horizonDays,
    },
    dataEnd,
    observations: { from: set.window.from, to: set.window.to, count: rows },
    dataHash: set.dataHash,
  }
}
