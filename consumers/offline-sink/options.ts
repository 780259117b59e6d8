import { z } from 'zod'
import type { Config } from '../../core/config.js'
import { ChurnError, ErrorCodes } from '../../core/errors.js'

export const offlineSinkOptionsSchema = z
  .strictObject({
    /** Consumer group. @default `<topic prefix>churn-offline-sink` */
    groupId: z.string().min(1).optional(),
    /**
     * A batch is inserted as soon as it has this many rows. Larger inserts cost the engine less per row
     * and leave fewer parts to merge (bench/offline-insert.bench.ts). @default 50000
     */
    batchRows: z.number().int().min(1).max(1_000_000).default(50_000),
    /** Longest a row waits for its batch to fill before the batch is inserted anyway. @default 1000 */
    batchDelayMs: z.number().int().min(0).max(600_000).default(1_000),
    /**
     * Rows held per topic, waiting or being inserted. Fetching from the topic pauses at this limit and
     * resumes below half of it; a single fetched batch is always taken whole when nothing is pending.
     * Twice `batchRows` lets the next batch be decoded while one is being inserted. @default 100000
     */
    maxPendingRows: z.number().int().min(1).default(100_000),
    /** First delay before retrying a failed insert; doubles per attempt, with full jitter. @default 100 */
    initialRetryMs: z.number().int().min(1).default(100),
    /** Upper bound on the delay between insert attempts. @default 10000 */
    maxRetryMs: z.number().int().min(1).default(10_000),
    /**
     * How long `close()` keeps trying to insert what is pending. Rows still pending after it are not
     * committed, so a restarted sink consumes them again. @default 10000
     */
    drainTimeoutMs: z.number().int().min(0).default(10_000),
    /** Bytes fetched per partition and request, which bounds one fetched batch. @default 1048576 */
    maxBytesPerPartition: z.number().int().min(1_024).default(1_048_576),
    /** Longest the broker holds a fetch open when there is no data; also how soon a resumed topic is fetched again. @default 500 */
    maxWaitTimeMs: z.number().int().min(10).max(30_000).default(500),
    /** Where a group without committed offsets starts. @default true (earliest) */
    fromBeginning: z.boolean().default(true),
  })
  .refine((options) => options.maxPendingRows >= options.batchRows, { message: 'must be at least batchRows', path: ['maxPendingRows'] })
  .refine((options) => options.maxRetryMs >= options.initialRetryMs, { message: 'must be at least initialRetryMs', path: ['maxRetryMs'] })

export type OfflineSinkOptionsInput = z.input<typeof offlineSinkOptionsSchema>
export type OfflineSinkOptions = z.output<typeof offlineSinkOptionsSchema>

/** Parses options once, at the edge; an error names each bad field and what was expected. */
export function parseOfflineSinkOptions(input: OfflineSinkOptionsInput = {}): OfflineSinkOptions {
  const parsed = offlineSinkOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`)
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `invalid offline sink options: ${problems.join('; ')}`, { details: { problems } })
  }
  return parsed.data
}

/** The options `churn run` takes from the environment, and the variable each is read from. */
const variables = {
  batchRows: 'OFFLINE_SINK_BATCH_ROWS',
  batchDelayMs: 'OFFLINE_SINK_BATCH_DELAY_MS',
  maxPendingRows: 'OFFLINE_SINK_MAX_PENDING_ROWS',
  initialRetryMs: 'OFFLINE_SINK_INITIAL_RETRY_MS',
  maxRetryMs: 'OFFLINE_SINK_MAX_RETRY_MS',
} as const satisfies Partial<Record<keyof OfflineSinkOptions, keyof Config>>

type FromEnvironment = keyof typeof variables

/** The sink's options set in the environment (OFFLINE_SINK_*); unset ones are left out. */
export function offlineSinkOptionsFromConfig(config: Config): OfflineSinkOptionsInput {
  const options: OfflineSinkOptionsInput = {}
  for (const [field, variable] of Object.entries(variables) as [FromEnvironment, (typeof variables)[FromEnvironment]][]) {
    const value = config[variable]
    if (value !== undefined) options[field] = value
  }
  return options
}

/**
 * The environment's options with `options` over them, checked together. Each variable is checked on
 * its own when the configuration is parsed; what only fails in combination (a batch larger than the
 * pending limit, a retry cap below the first delay) is reported here, by variable name unless the
 * field was passed in code.
 */
export function resolveOfflineSinkOptions(config: Config, options: OfflineSinkOptionsInput = {}): OfflineSinkOptions {
  const merged: OfflineSinkOptionsInput = { ...offlineSinkOptionsFromConfig(config), ...options }
  const parsed = offlineSinkOptionsSchema.safeParse(merged)
  if (parsed.success) return parsed.data
  const name = (field: string): string => (field in options || !(field in variables) ? field : variables[field as FromEnvironment])
  const fieldPattern = new RegExp(`\\b(${Object.keys(variables).join('|')})\\b`, 'gu')
  const defaults: Record<string, unknown> = offlineSinkOptionsSchema.parse({})
  const problems = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? '(options)')
    const value = (merged as Record<string, unknown>)[field]
    return `${name(field)}: ${issue.message.replace(fieldPattern, name)} (${value === undefined ? `unset: the default ${JSON.stringify(defaults[field])}` : `got ${JSON.stringify(value)}`})`
  })
  throw new ChurnError(ErrorCodes.CONFIG_INVALID, `invalid offline sink configuration: ${problems.join('; ')}`, { details: { problems } })
}
