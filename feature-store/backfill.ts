import type { ClickHouseClient } from '@clickhouse/client'
import type { FeatureSet } from './feature-set.js'
import type { EventRow } from './offline/rows.js'
import type { OnlineStore, StateWrite } from './online/online-store.js'

export interface BackfillReport {
  customers: number
  events: number
  late: number
  written: number
}

const columns = `event_id, customer_id, toUnixTimestamp64Milli(event_time) AS event_time, type, plan, contract, payment_method, monthly_charge, services,
  paperless_billing, senior, partner, dependents, region, channel, sessions, minutes, data_mb, amount, status, method, ticket_id, category, severity,
  resolved, reason, voluntary, src_topic, src_partition, src_offset`

/**
 * Rebuilds the online store from the offline store: each customer's events are replayed through the
 * feature engine in arrival order (partition, offset), exactly as ingest applied them, and the state,
 * vector and applied offset are written. Ingest then continues from where the records left off.
 */
export async function backfillOnlineStore(
  client: ClickHouseClient,
  featureSet: FeatureSet,
  store: OnlineStore,
  options: { topic: string; force?: boolean; customersPerBatch?: number; onProgress?: (report: BackfillReport) => void },
): Promise<BackfillReport> {
  const report: BackfillReport = { customers: 0, events: 0, late: 0, written: 0 }
  const ids = await (
    await client.query({ query: 'SELECT DISTINCT customer_id FROM customer_events WHERE src_topic = {topic:String} ORDER BY customer_id', query_params: { topic: options.topic }, format: 'JSONEachRow' })
  ).json<{ customer_id: string }>()
  const perBatch = options.customersPerBatch ?? 2_000
  for (let i = 0; i < ids.length; i += perBatch) {
    const customers = ids.slice(i, i + perBatch).map((row) => row.customer_id)
    const rows = await (
      await client.query({
        query: `SELECT ${columns} FROM customer_events FINAL WHERE src_topic = {topic:String} AND customer_id IN {customers:Array(String)} ORDER BY customer_id, src_partition, src_offset`,
        query_params: { topic: options.topic, customers },
        format: 'JSONEachRow',
      })
    ).json<Omit<EventRow, 'event_time' | 'src_partition' | 'src_offset'> & { event_time: number | string; src_partition: number | string; src_offset: number | string }>()
    const writes: StateWrite[] = []
    let current: StateWrite | undefined
    for (const raw of rows) {
      // Numbers, not aliases: an alias named like a column would also change what ORDER BY sorts on.
      const row: EventRow = { ...raw, event_time: Number(raw.event_time), src_partition: Number(raw.src_partition), src_offset: String(raw.src_offset) }
      if (current?.customerId !== row.customer_id || current.partition !== row.src_partition) {
        current = { customerId: row.customer_id, partition: row.src_partition, offset: -1, state: featureSet.emptyState(), vector: undefined }
        writes.push(current)
      }
      const offset = Number(row.src_offset)
      if (featureSet.apply(current.state, row, offset) === 'late') report.late += 1
      current.offset = offset
      report.events += 1
    }
    for (const write of writes) write.vector = featureSet.materialize(write.state)
    const applied = await store.writeStates(writes, featureSet.version, { force: options.force ?? false })
    report.written += applied.filter(Boolean).length
    report.customers += customers.length
    options.onProgress?.(report)
  }
  return report
}
