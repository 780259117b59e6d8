import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Batch } from 'kafkajs'
import { eventRow, type EventRow } from '../../feature-store/offline/rows.js'
import { loadSchema } from '../../schemas/avro.js'
import type { TopicSpec } from '../../schemas/catalog.js'
import { AvroCodec } from '../../schemas/codec.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import type { CustomerEvent } from '../../schemas/events.js'
import { decodeEventBatch } from '../event-decoding.js'
import { decodeFeatureBatch, type FeatureSnapshotRow } from './feature-snapshots.js'
import type { DecodedRows, OfflineTable, PendingRow, SinkSource } from './types.js'

/** Every field of a row type, each once: a column list that can neither miss nor invent a field. */
function columnsOf<Row>(fields: Record<keyof Row, true>): readonly string[] {
  return Object.keys(fields)
}

/** Tables of the offline store (feature-store/offline/migrations.ts) and the columns the sink writes. */
export const offlineTables = {
  customerEvents: {
    name: 'customer_events',
    columns: columnsOf<EventRow>({
      event_id: true, customer_id: true, event_time: true, type: true, plan: true, contract: true, payment_method: true, monthly_charge: true, services: true,
      paperless_billing: true, senior: true, partner: true, dependents: true, region: true, channel: true, sessions: true, minutes: true, data_mb: true,
      amount: true, status: true, method: true, ticket_id: true, category: true, severity: true, resolved: true, reason: true, voluntary: true,
      src_topic: true, src_partition: true, src_offset: true,
    }),
  },
  featureSnapshots: {
    name: 'feature_snapshots',
    columns: columnsOf<FeatureSnapshotRow>({
      customer_id: true, feature_set_version: true, as_of: true, values: true, computed_at: true, src_topic: true, src_partition: true, src_offset: true,
    }),
  },
} as const satisfies Record<string, OfflineTable>

/** The `customer_events` row of one event, as the line the sink inserts. */
export function customerEventLine(event: CustomerEvent, source: { topic: string; partition: number; offset: string }): string {
  return JSON.stringify(eventRow(event, source))
}

/** `customer.events` -> `customer_events`, one row per valid event. */
export function customerEventSource(registry: SchemaRegistry, topic: TopicSpec, stage: string): SinkSource {
  const codec = new CustomerEventCodec(registry, topic)
  return {
    topic,
    table: offlineTables.customerEvents,
    async decode(batch: Batch): Promise<DecodedRows<string>> {
      const { events, deadLetters } = await decodeEventBatch(codec, batch, stage)
      const rows = events.map(({ event, partition, offset, message }): PendingRow<string> => ({ row: customerEventLine(event, { topic: batch.topic, partition, offset }), partition, message }))
      return { rows, deadLetters }
    },
  }
}

/** `customer.features` -> `feature_snapshots`, one row per feature vector written to the changelog. */
export function featureSnapshotSource(registry: SchemaRegistry, topic: TopicSpec, stage: string): SinkSource {
  const codec = new AvroCodec(registry, loadSchema('featureVector'), `${topic.name}-value`)
  return {
    topic,
    table: offlineTables.featureSnapshots,
    decode: (batch: Batch) => decodeFeatureBatch(codec, batch, stage),
  }
}
