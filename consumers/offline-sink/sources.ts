import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Batch } from 'kafkajs'
import { eventRow, type EventRow } from '../../feature-store/offline/rows.js'
import { loadSchema } from '../../schemas/avro.js'
import type { TopicSpec } from '../../schemas/catalog.js'
import { AvroCodec } from '../../schemas/codec.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import { decodeEventBatch } from '../event-decoding.js'
import { decodeFeatureBatch, type FeatureSnapshotRow } from './feature-snapshots.js'
import type { DecodedRows, PendingRow, SinkSource } from './types.js'

/** Table names of the offline store (feature-store/offline/migrations.ts). */
export const offlineTables = {
  customerEvents: 'customer_events',
  featureSnapshots: 'feature_snapshots',
} as const

/** `customer.events` -> `customer_events`, one row per valid event. */
export function customerEventSource(registry: SchemaRegistry, topic: TopicSpec, stage: string): SinkSource<EventRow> {
  const codec = new CustomerEventCodec(registry, topic)
  return {
    topic,
    table: offlineTables.customerEvents,
    async decode(batch: Batch): Promise<DecodedRows<EventRow>> {
      const { events, deadLetters } = await decodeEventBatch(codec, batch, stage)
      const rows = events.map(({ event, partition, offset, message }): PendingRow<EventRow> => ({ row: eventRow(event, { topic: batch.topic, partition, offset }), partition, message }))
      return { rows, deadLetters }
    },
  }
}

/** `customer.features` -> `feature_snapshots`, one row per feature vector written to the changelog. */
export function featureSnapshotSource(registry: SchemaRegistry, topic: TopicSpec, stage: string): SinkSource<FeatureSnapshotRow> {
  const codec = new AvroCodec(registry, loadSchema('featureVector'), `${topic.name}-value`)
  return {
    topic,
    table: offlineTables.featureSnapshots,
    decode: (batch: Batch) => decodeFeatureBatch(codec, batch, stage),
  }
}
