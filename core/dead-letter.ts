import type { IHeaders, KafkaMessage, Message } from 'kafkajs'

/** Header names on dead-letter records; the value and key are the original bytes. */
export const deadLetterHeaders = {
  reason: 'churn.dlq.reason',
  error: 'churn.dlq.error',
  sourceTopic: 'churn.dlq.source.topic',
  sourcePartition: 'churn.dlq.source.partition',
  sourceOffset: 'churn.dlq.source.offset',
  stage: 'churn.dlq.stage',
  failedAt: 'churn.dlq.failed_at',
} as const

export interface DeadLetterInfo {
  topic: string
  partition: number
  /** A stable code, e.g. BAD_MAGIC_BYTE, INVALID_CONTENT, LATE_EVENT. */
  reason: string
  error: string
  /** The role that gave up on the record. */
  stage: string
  now?: number
}

const maxErrorLength = 2_048

/** The dead-letter record for a consumed record: original key, value and headers, plus why. */
export function deadLetterMessage(message: KafkaMessage, info: DeadLetterInfo): Message {
  const headers: IHeaders = { ...(message.headers ?? {}) }
  headers[deadLetterHeaders.reason] = info.reason
  headers[deadLetterHeaders.error] = info.error.length > maxErrorLength ? `${info.error.slice(0, maxErrorLength)}…` : info.error
  headers[deadLetterHeaders.sourceTopic] = info.topic
  headers[deadLetterHeaders.sourcePartition] = String(info.partition)
  headers[deadLetterHeaders.sourceOffset] = message.offset
  headers[deadLetterHeaders.stage] = info.stage
  headers[deadLetterHeaders.failedAt] = new Date(info.now ?? Date.now()).toISOString()
  return { key: message.key, value: message.value, headers, timestamp: message.timestamp }
}

/** Reads a header as text (KafkaJS hands them over as Buffers). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name]
  if (value === undefined) return undefined
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined ? undefined : first.toString()
}
