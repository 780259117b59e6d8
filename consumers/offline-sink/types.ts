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

/** A table the sink writes, and the columns its rows set. */
export interface OfflineTable {
  readonly name: string
  /**
   * The columns a row may set, as JSON fields. A row leaves out a field whose value is the column
   * type's default ('', 0, []), and is written with that value: each listed column's DEFAULT must be
   * exactly that. Columns not listed (`ingested_at`) take their DEFAULT expression.
   */
  readonly columns: readonly string[]
}

/** One input topic and the table its records are written to, one JSONEachRow line per row. */
export interface SinkSource {
  readonly topic: TopicSpec
  readonly table: OfflineTable
  /** Throws only for transient problems (a registry outage): the batch is then consumed again. */
  decode(batch: Batch): Promise<DecodedRows<string>>
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
