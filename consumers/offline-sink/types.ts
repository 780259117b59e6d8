import type { Batch, KafkaMessage, Message } from 'kafkajs'
import type { TopicSpec } from '../../schemas/catalog.js'

export type OfflineSinkState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped' | 'failed'

/** A row on its way to ClickHouse, with the record it came from (dead-lettered if ClickHouse refuses the row). */
export interface PendingRow<Row> {
  row: Row
  partition: number
  message: KafkaMessage
}

export interface DecodedRows<Row> {
  rows: PendingRow<Row>[]
  /** Records that can never be used, ready for the topic's dead-letter topic. */
  deadLetters: Message[]
}

/** One input topic and the table its records are written to. */
export interface SinkSource<Row> {
  readonly topic: TopicSpec
  readonly table: string
  /** Throws only for transient problems (a registry outage): the batch is then consumed again. */
  decode(batch: Batch): Promise<DecodedRows<Row>>
}

/** Dead-letter reasons of the sink itself, next to the decode failures of `schemas/codec.ts`. */
export const sinkFailures = {
  /** ClickHouse refused the row itself (a constraint, a value it cannot parse); other rows of its batch were written. */
  CLICKHOUSE_REJECTED: 'CLICKHOUSE_REJECTED',
} as const

/**
 * What a failed insert means for the rows in it: `transient` problems pass (retry with backoff),
 * `rejected` rows are at fault (find them and dead-letter them), `fatal` ones need a human
 * (credentials, a closed client, a table that does not match the rows).
 */
export type InsertFailureKind = 'transient' | 'rejected' | 'fatal'

export interface InsertFailure {
  kind: InsertFailureKind
  canRetry: boolean
  /** The ClickHouse error type (UNKNOWN_TABLE), a socket error code (ECONNREFUSED) or UNKNOWN. */
  code: string
  message: string
}
