import { randomUUID } from 'node:crypto'
import type { ClickHouseClient } from '@clickhouse/client'
import type { FeatureSet } from '../feature-set.js'
import { featureQuery } from './sql.js'

export interface Observation {
  customer_id: string
  /** Milliseconds since the epoch. */
  as_of: number
}

export interface OfflineVector {
  customer_id: string
  as_of: number
  values: Float64Array
}

/**
 * Computes the feature set for each observation from the raw events in the offline store. The
 * observations go through a scratch table (data, not SQL text); the query is compiled from the
 * declarations.
 */
export async function offlineFeatures(client: ClickHouseClient, featureSet: FeatureSet, observations: readonly Observation[]): Promise<OfflineVector[]> {
  if (observations.length === 0) return []
  const table = `observations_${randomUUID().replaceAll('-', '')}`
  await client.command({ query: `CREATE TABLE ${table} (customer_id String, as_of Int64) ENGINE = Memory` })
  try {
    await client.insert({ table, values: observations.map((o) => ({ customer_id: o.customer_id, as_of: o.as_of })), format: 'JSONEachRow' })
    const result = await client.query({ query: featureQuery(featureSet, table), format: 'JSONCompactEachRow' })
    const rows = await result.json<unknown[]>()
    return rows.map((row) => ({
      customer_id: String(row[0]),
      as_of: Number(row[1]),
      values: Float64Array.from(row.slice(2), (value) => Number(value)),
    }))
  } finally {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` })
  }
}
