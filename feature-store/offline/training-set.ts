import { createHash } from 'node:crypto'
import type { ClickHouseClient } from '@clickhouse/client'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { DAY_MS, type FeatureSet } from '../feature-set.js'
import { offlineFeatures, type Observation } from './features.js'

export interface SamplingRule {
  /** Observe every active customer every this many days... */
  everyDays: number
  /** ...from this time... */
  from: number
  /** ...up to this time (ms). */
  to: number
}

export interface TrainingSetRequest {
  /** Explicit observation points; or a sampling rule. */
  observations?: readonly Observation[]
  sampling?: SamplingRule
  /** The label is "cancelled within this many days after the as-of time". */
  horizonDays: number
  /**
   * Observations whose horizon ends after this time are dropped: their label is not known yet.
   * @default the newest event time in the store
   */
  dataEnd?: number
  /** Observations per query. @default 20000 */
  chunkSize?: number
}

export interface TrainingSet {
  featureNames: readonly string[]
  featureSetVersion: string
  observations: Observation[]
  /** Row-major: observations x features. */
  features: Float64Array
  labels: Uint8Array
  horizonDays: number
  /** Earliest and latest as-of time. */
  window: { from: number; to: number }
  /** SHA-256 of the features and labels, for lineage. */
  dataHash: string
}

const customerTimes = `
  SELECT customer_id,
    minIf(t, type = 'signup') AS signed_up,
    minIf(t, type = 'cancellation') AS cancelled
  FROM (SELECT customer_id, type, toUnixTimestamp64Milli(event_time) AS t FROM customer_events FINAL WHERE type IN ('signup', 'cancellation'))
  GROUP BY customer_id`

/**
 * A point-in-time correct training set from the offline store: each observation's features are
 * computed from the events known at its as-of time (the same compiled SQL as serving parity is
 * tested against), and its label looks only forward, to a cancellation within the horizon.
 */
export async function buildTrainingSet(client: ClickHouseClient, featureSet: FeatureSet, request: TrainingSetRequest): Promise<TrainingSet> {
  if ((request.observations === undefined) === (request.sampling === undefined)) {
    throw new ChurnError(ErrorCodes.VALIDATION, 'a training set needs either observations or a sampling rule')
  }
  const horizonMs = request.horizonDays * DAY_MS
  const dataEnd =
    request.dataEnd ??
    Number((await (await client.query({ query: 'SELECT toUnixTimestamp64Milli(max(event_time)) AS end FROM customer_events', format: 'JSONEachRow' })).json<{ end: number | string }>())[0]?.end ?? 0)

  const times = new Map<string, { signedUp: number; cancelled: number }>()
  for (const row of await (await client.query({ query: customerTimes, format: 'JSONEachRow' })).json<{ customer_id: string; signed_up: number | string; cancelled: number | string }>()) {
    times.set(row.customer_id, { signedUp: Number(row.signed_up), cancelled: Number(row.cancelled) })
  }

  let candidates: Observation[]
  if (request.sampling !== undefined) {
    const { everyDays, from, to } = request.sampling
    if (!(everyDays > 0) || to < from) throw new ChurnError(ErrorCodes.VALIDATION, 'sampling needs everyDays > 0 and from <= to')
    candidates = []
    for (let asOf = from; asOf <= to; asOf += everyDays * DAY_MS) {
      for (const [customer_id, time] of times) {
        // Active: signed up by then and not yet cancelled.
        if (time.signedUp > 0 && time.signedUp <= asOf && (time.cancelled === 0 || time.cancelled > asOf)) candidates.push({ customer_id, as_of: asOf })
      }
    }
  } else {
    candidates = [...(request.observations ?? [])]
  }
  const observations = candidates.filter((o) => o.as_of + horizonMs <= dataEnd)

  const width = featureSet.names.length
  const features = new Float64Array(observations.length * width)
  const labels = new Uint8Array(observations.length)
  const chunkSize = request.chunkSize ?? 20_000
  const order: Observation[] = []
  for (let start = 0; start < observations.length; start += chunkSize) {
    const vectors = await offlineFeatures(client, featureSet, observations.slice(start, start + chunkSize))
    for (const vector of vectors) {
      const row = order.length
      features.set(vector.values, row * width)
      const cancelled = times.get(vector.customer_id)?.cancelled ?? 0
      labels[row] = cancelled > vector.as_of && cancelled <= vector.as_of + horizonMs ? 1 : 0
      order.push({ customer_id: vector.customer_id, as_of: vector.as_of })
    }
  }
  const hash = createHash('sha256')
  hash.update(featureSet.version)
  hash.update(Buffer.from(features.buffer, features.byteOffset, features.byteLength))
  hash.update(labels)
  return {
    featureNames: featureSet.names,
    featureSetVersion: featureSet.version,
    observations: order,
    features,
    labels,
    horizonDays: request.horizonDays,
    window: { from: order.reduce((min, o) => Math.min(min, o.as_of), Number.POSITIVE_INFINITY), to: order.reduce((max, o) => Math.max(max, o.as_of), 0) },
    dataHash: hash.digest('hex'),
  }
}
