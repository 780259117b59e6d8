import { z } from 'zod'
import type { Config } from '../../core/config.js'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { driftOptionsSchema, type DriftOptions } from '../../drift/options.js'

const HOUR_MS = 3_600_000

export const driftRoleOptionsSchema = z.strictObject({
  /**
   * Consumer group of the role, and the key of its snapshots on `churn.drift.state`. One instance owns every input
   * partition (drift is a global aggregate): run one drift process per group. @default `<topic prefix>churn-drift`
   */
  groupId: z.string().min(1).optional(),
  /** Registry model name the retrain requests are keyed by. @default 'churn' */
  modelName: z.string().min(1).default('churn'),
  /**
   * An input partition that delivered nothing for this long (processing time) is marked idle and stops holding the
   * watermark back until its next record, so an empty partition does not keep windows open forever. Checked when a
   * batch arrives. @default 60000
   */
  idlePartitionMs: z.number().int().positive().default(60_000),
  /** @default 30000 */
  sessionTimeoutMs: z.number().int().min(6_000).default(30_000),
  /** Bytes fetched per partition and request; bounds a batch, which is one transaction with one snapshot. @default 1 MiB */
  maxBytesPerPartition: z.number().int().min(1_024).default(1_048_576),
  /** Longest the role waits at start to read the model log up to date (to know the champion before the first batch). @default 30000 */
  modelCatchUpMs: z.number().int().min(0).default(30_000),
  /** Longest the role waits at start to read its newest snapshot from `churn.drift.state`; past it, start fails. @default 60000 */
  stateCatchUpMs: z.number().int().positive().default(60_000),
  /** Windows, statistics, thresholds and the retrain policy (drift/options.ts). */
  drift: driftOptionsSchema.prefault({}),
})

export type DriftRoleOptionsInput = z.input<typeof driftRoleOptionsSchema>
export type DriftRoleOptions = Omit<z.output<typeof driftRoleOptionsSchema>, 'groupId' | 'drift'> & {
  readonly groupId: string
  readonly drift: DriftOptions
}

/**
 * Parses options once, at the edge; an error names each bad field (`drift.windowMs`, ...) and what was expected.
 * `topicPrefix` makes the default group id.
 */
export function parseDriftRoleOptions(input: DriftRoleOptionsInput = {}, topicPrefix = ''): DriftRoleOptions {
  const parsed = driftRoleOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`)
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `invalid drift role options: ${problems.join('; ')}`, { details: { problems } })
  }
  return { ...parsed.data, groupId: parsed.data.groupId ?? `${topicPrefix}churn-drift` }
}

/** The options an operator sets through `DRIFT_*` variables (and the session timeout); unset ones keep the defaults. */
export function driftOptionsFromConfig(config: Config): DriftRoleOptionsInput {
  const drift: NonNullable<DriftRoleOptionsInput['drift']> = {}
  if (config.DRIFT_WINDOW_MS !== undefined) drift.windowMs = config.DRIFT_WINDOW_MS
  if (config.DRIFT_ALLOWED_LATENESS_MS !== undefined) drift.allowedLatenessMs = config.DRIFT_ALLOWED_LATENESS_MS
  if (config.DRIFT_CONSECUTIVE_WINDOWS !== undefined) drift.consecutiveWindows = config.DRIFT_CONSECUTIVE_WINDOWS
  if (config.DRIFT_COOLDOWN_MS !== undefined) drift.cooldownMs = config.DRIFT_COOLDOWN_MS
  // Realised performance is comparable with the holdout's only over the horizon the model was trained for.
  if (config.TRAINER_HORIZON_DAYS !== undefined) drift.labelHorizonMs = config.TRAINER_HORIZON_DAYS * 24 * HOUR_MS
  if (config.DRIFT_PSI_THRESHOLD !== undefined) drift.thresholds = { psi: config.DRIFT_PSI_THRESHOLD }
  if (config.DRIFT_SCHEDULE_HOURS !== undefined) drift.scheduleEveryMs = config.DRIFT_SCHEDULE_HOURS === 0 ? null : Math.round(config.DRIFT_SCHEDULE_HOURS * HOUR_MS)
  return {
    groupId: `${config.TOPIC_PREFIX}churn-drift`,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    ...(config.DRIFT_MAX_BYTES_PER_PARTITION === undefined ? {} : { maxBytesPerPartition: config.DRIFT_MAX_BYTES_PER_PARTITION }),
    drift,
  }
}
