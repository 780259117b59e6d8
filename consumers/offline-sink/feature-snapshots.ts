import type { Batch, Message } from 'kafkajs'
import { z } from 'zod'
import { deadLetterMessage } from '../../core/dead-letter.js'
import type { AvroCodec } from '../../schemas/codec.js'
import { decodeFailures } from '../../schemas/codec.js'
import { customerIdSchema, describeIssues } from '../../schemas/events.js'
import type { PendingRow } from './types.js'

/** The range of ClickHouse `DateTime64(3)`; a time outside it would be stored as a different instant. */
const dateTime64 = z.number().int().min(Date.UTC(1900, 0, 1)).max(Date.UTC(2299, 11, 31, 23, 59, 59, 999))

/** A decoded `churn.features.FeatureVector` (schemas/avro/feature-vector.avsc). */
export const featureVectorSchema = z.object({
  customer_id: customerIdSchema,
  feature_set_version: z.string().min(1).max(128),
  // Avro guarantees doubles; NaN marks a feature without a value and is kept.
  values: z.array(z.custom<number>((value) => typeof value === 'number', 'expected a double')),
  newest_event_time: dateTime64,
  computed_at: dateTime64,
  source_partition: z.number().int(),
  source_offset: z.number().int(),
})

export type FeatureVector = z.output<typeof featureVectorSchema>

/** JSON has no NaN or infinities; ClickHouse reads these strings into Float64. */
export type JsonDouble = number | 'nan' | 'inf' | '-inf'

/** A `feature_snapshots` row. */
export interface FeatureSnapshotRow {
  customer_id: string
  feature_set_version: string
  /** Milliseconds since the epoch: the event time of the newest input applied. */
  as_of: number
  values: JsonDouble[]
  computed_at: number
  src_topic: string
  src_partition: number
  /** UInt64, as a string so that no offset loses precision. */
  src_offset: string
}

export function jsonDouble(value: number): JsonDouble {
  if (Number.isNaN(value)) return 'nan'
  if (value === Number.POSITIVE_INFINITY) return 'inf'
  if (value === Number.NEGATIVE_INFINITY) return '-inf'
  return value
}

export function featureSnapshotRow(vector: FeatureVector, source: { topic: string; partition: number; offset: string }): FeatureSnapshotRow {
  return {
    customer_id: vector.customer_id,
    feature_set_version: vector.feature_set_version,
    as_of: vector.newest_event_time,
    values: vector.values.map(jsonDouble),
    computed_at: vector.computed_at,
    src_topic: source.topic,
    src_partition: source.partition,
    src_offset: source.offset,
  }
}

/**
 * Decodes a batch of `customer.features` into snapshot rows, as the lines the sink inserts. As for
 * events, records that can never be used become dead-letter records with the reason; a registry
 * outage throws, so the batch is consumed again rather than dead-lettered.
 */
export async function decodeFeatureBatch(codec: AvroCodec, batch: Batch, stage: string): Promise<{ rows: PendingRow<string>[]; deadLetters: Message[] }> {
  const rows: PendingRow<string>[] = []
  const deadLetters: Message[] = []
  const where = { topic: batch.topic, partition: batch.partition, stage }
  for (const message of batch.messages) {
    const outcome = await codec.decode(message.value)
    if (!outcome.ok) {
      deadLetters.push(deadLetterMessage(message, { ...where, reason: outcome.reason, error: outcome.message }))
      continue
    }
    const parsed = featureVectorSchema.safeParse(outcome.value)
    if (!parsed.success) {
      deadLetters.push(deadLetterMessage(message, { ...where, reason: decodeFailures.INVALID_CONTENT, error: describeIssues(parsed.error) }))
      continue
    }
    const row = featureSnapshotRow(parsed.data, { topic: batch.topic, partition: batch.partition, offset: message.offset })
    rows.push({ row: JSON.stringify(row), partition: batch.partition, message })
  }
  return { rows, deadLetters }
}
