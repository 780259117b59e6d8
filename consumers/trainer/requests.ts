import type { Batch, KafkaMessage, Message } from 'kafkajs'
import { deadLetterMessage } from '../../core/dead-letter.js'
import { decodeFailures, type AvroCodec } from '../../schemas/codec.js'
import type { RetrainRequestInfo } from './types.js'

/** `RetrainRequest` as Avro decodes it (`schemas/avro/retrain-request.avsc`). */
interface RetrainRequestRecord {
  request_id: string
  requested_at: number
  reason: string
  model_version: string | null
  evidence: { window_start: number }[]
  event_time: number
}

/** Where a drift or performance request's evidence begins; other requests carry none. */
function driftFrom(record: RetrainRequestRecord): number | undefined {
  if ((record.reason !== 'drift' && record.reason !== 'performance') || record.evidence.length === 0) return undefined
  return Math.min(...record.evidence.map((entry) => entry.window_start))
}

export interface DecodedRequests {
  /** In offset order: each consumed record is a request or a dead letter. */
  readonly entries: ({ readonly request: RetrainRequestInfo } | { readonly deadLetter: Message; readonly reason: string; readonly offset: string })[]
}

function problem(record: RetrainRequestRecord): string | undefined {
  if (record.request_id.trim() === '') return 'request_id is empty'
  if (!Number.isFinite(record.event_time) || record.event_time <= 0) return `event_time ${record.event_time} is not a time`
  return undefined
}

/**
 * Decodes a batch of `churn.retrain.requests`. A record that can never be used becomes a dead letter with the reason;
 * a registry outage throws instead, so the batch is consumed again rather than dead-lettered.
 */
export async function decodeRequests(codec: AvroCodec, batch: Batch, stage: string): Promise<DecodedRequests> {
  const entries: DecodedRequests['entries'] = []
  const deadLetter = (message: KafkaMessage, reason: string, error: string): void => {
    entries.push({ deadLetter: deadLetterMessage(message, { topic: batch.topic, partition: batch.partition, reason, error, stage }), reason, offset: message.offset })
  }
  for (const message of batch.messages) {
    const decoded = await codec.decode(message.value)
    if (!decoded.ok) {
      deadLetter(message, decoded.reason, decoded.message)
      continue
    }
    const record = decoded.value as RetrainRequestRecord
    const invalid = problem(record)
    if (invalid !== undefined) {
      deadLetter(message, decodeFailures.INVALID_CONTENT, invalid)
      continue
    }
    const from = driftFrom(record)
    entries.push({
      request: { id: record.request_id, reason: record.reason, eventTime: record.event_time, ...(from === undefined ? {} : { driftFrom: from }), partition: batch.partition, offset: message.offset },
    })
  }
  return { entries }
}
