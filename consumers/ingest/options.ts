import { z } from 'zod'

export const ingestOptionsSchema = z.strictObject({
  /** Consumer group of the ingest role. @default 'churn-ingest' */
  groupId: z.string().min(1).default('churn-ingest'),
  /** Prefix of the online store's Redis keys. @default 'churn:' */
  keyPrefix: z.string().default('churn:'),
  /** Bytes fetched per partition and request; bounds a batch. @default 1 MiB */
  maxBytesPerPartition: z.number().int().positive().default(1_048_576),
  /** @default 30000 */
  sessionTimeoutMs: z.number().int().min(6_000).default(30_000),
})

export type IngestOptionsInput = z.input<typeof ingestOptionsSchema>
export type IngestOptions = z.output<typeof ingestOptionsSchema>
