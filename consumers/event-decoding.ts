import type { Batch, KafkaMessage, Message } from 'kafkajs'
import { deadLetterMessage } from '../core/dead-letter.js'
import type { CustomerEventCodec } from '../schemas/customer-event-codec.js'
import type { CustomerEvent } from '../schemas/events.js'

export interface DecodedEvent {
  event: CustomerEvent
  partition: number
  offset: string
  /** The record as consumed, for a dead letter later in processing. */
  message: KafkaMessage
}

export interface DecodedBatch {
  events: DecodedEvent[]
  /** One per record that could not be used, ready for the topic's dead-letter topic. */
  deadLetters: Message[]
}

/**
 * Decodes a batch of `customer.events`. Records that can never be used (not the wire format, an
 * unknown or unreadable schema, content that breaks the contract) become dead-letter records with
 * the reason; a registry outage throws instead, so the batch is retried rather than dead-lettered.
 */
export async function decodeEventBatch(codec: CustomerEventCodec, batch: Batch, stage: string): Promise<DecodedBatch> {
  const events: DecodedEvent[] = []
  const deadLetters: Message[] = []
  for (const message of batch.messages) {
    const outcome = codec.decodeKnown(message.value) ?? (await codec.decode(message.value))
    if (outcome.ok) {
      events.push({ event: outcome.value, partition: batch.partition, offset: message.offset, message })
    } else {
      deadLetters.push(deadLetterMessage(message, { topic: batch.topic, partition: batch.partition, reason: outcome.reason, error: outcome.message, stage }))
    }
  }
  return { events, deadLetters }
}
