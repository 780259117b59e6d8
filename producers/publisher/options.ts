import { z } from 'zod'
import { ChurnError, ErrorCodes } from '../../core/errors.js'

export const publisherOptionsSchema = z.strictObject({
  /** How long a record may wait for others to share its request. @default 5 */
  lingerMs: z.number().int().min(0).max(1_000).default(5),
  /** Records per produce request. @default 1000 */
  maxBatchSize: z.number().int().min(1).max(100_000).default(1_000),
  /** Records waiting to be sent before `publish` waits for room. @default 20000 */
  maxQueued: z.number().int().min(1).default(20_000),
  /** Retries of a transport failure (broker unreachable, leader moving), beyond the client's own. @default 8 */
  maxRetries: z.number().int().min(0).max(100).default(8),
  /** First retry delay; doubles per attempt with full jitter. @default 100 */
  initialRetryMs: z.number().int().min(1).default(100),
  /** @default 5000 */
  maxRetryMs: z.number().int().min(1).default(5_000),
  /** How far in the future an event time may be. @default 300000 */
  maxClockSkewMs: z.number().int().min(0).default(300_000),
})

export type PublisherOptionsInput = z.input<typeof publisherOptionsSchema>
export type PublisherOptions = z.output<typeof publisherOptionsSchema>

export function parsePublisherOptions(input: PublisherOptionsInput = {}): PublisherOptions {
  const parsed = publisherOptionsSchema.safeParse(input)
  if (!parsed.success) {
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `invalid publisher options: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`)
  }
  return parsed.data
}
