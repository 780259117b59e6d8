import { z } from 'zod'

export const ingestOptionsSchema = z.strictObject({
  /** Consumer group of the ingest role. @default 'churn-ingest' */
  groupId: z.string().min(1).default('churn-ingest'),
  /** Prefix of the online store's Redis keys. @default 'churn:' */
  keyPrefix: z.string().default('churn:'),
  /**
   * Bytes fetched per partition and request; bounds a batch, and so the memory and the transaction
   * size. Larger batches apply several events of a customer per Redis write and changelog record.
   * @default 4 MiB
   */
  maxBytesPerPartition: z.number().int().positive().default(4_194_304),
  /**
   * Partitions whose batches are processed at once, each in its own transaction with its own producer,
   * so that one partition's Redis and Kafka round trips overlap another's work. @default 6
   */
  partitionsConsumedConcurrently: z.number().int().min(1).max(64).default(6),
  /** @default 30000 */
  sessionTimeoutMs: z.number().int().min(6_000).default(30_000),
})

export type IngestOptionsInput = z.input<typeof ingestOptionsSchema>
export type IngestOptions = z.output<typeof ingestOptionsSchema>
