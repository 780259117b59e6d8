import { z } from 'zod'
import type { Config } from '../../core/config.js'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { resolveTrainingOptions, trainingOptionsSchema, type TrainingOptions } from '../../trainer/pipeline/index.js'

export const trainerOptionsSchema = z.strictObject({
  ...trainingOptionsSchema.shape,
  /** Consumer group. @default `<topic prefix>churn-trainer` */
  groupId: z.string().min(1).optional(),
  /** Registry model name the trainer trains and promotes. @default 'churn' */
  modelName: z.string().min(1).default('churn'),
  /**
   * Wall-clock time after a run ends before the next may start. Requests meanwhile (or during the run) coalesce into
   * one pending run; a failed run is retried after it too. @default 600000 (10 minutes)
   */
  cooldownMs: z.number().int().min(0).default(600_000),
  /** The label: "cancelled within this many days after the as-of time". @default 30 */
  horizonDays: z.number().int().min(1).max(365).default(30),
  /** Observe every active customer every this many days. @default 7 */
  sampleEveryDays: z.number().int().min(1).max(365).default(7),
  /** Oldest observation: this many days before the newest one. @default 365 */
  lookbackDays: z.number().int().min(1).max(3_650).default(365),
  /**
   * A drift or performance request's run trains on the data from the drift's start on (its evidence's first window),
   * observed over this many days: it waits until the offline store reaches the drift's start + this + the horizon, when
   * their labels have matured. The holdout takes the last fifth of them and the purge a horizon before it, so this must
   * well exceed 1.25 x the horizon; the default leaves 42 days to train on with the default horizon. @default 90
   */
  postDriftDays: z.number().int().min(1).max(365).default(90),
  /**
   * The drift reference stored with a model: the feature vectors the stream emitted in this many days before the data
   * end (the training rows when there are too few). @default 28
   */
  referenceDays: z.number().int().min(1).max(365).default(28),
  /** How often a run waiting for post-drift data checks the offline store again. @default 30000 */
  dataWaitCheckMs: z.number().int().min(100).default(30_000),
  /** No observation in the first days of the store's history (from its first event other than a signup), where windowed features lack their history. @default 30 */
  warmupDays: z.number().int().min(0).max(365).default(30),
  /** Attempts of a failing run (the cooldown is the backoff); after them its requests are committed as failed. @default 3 */
  maxAttempts: z.number().int().min(1).max(100).default(3),
  /**
   * Where training runs: `worker` thread, `inline` (the role's thread), or `auto` (a worker from the compiled build,
   * inline from TypeScript sources). @default 'auto'
   */
  thread: z.enum(['auto', 'worker', 'inline']).default('auto'),
  /** @default 30000 */
  sessionTimeoutMs: z.number().int().min(6_000).default(30_000),
  /** Where a group without committed offsets starts; requests coalesce, so a replay costs one run. @default true (earliest) */
  fromBeginning: z.boolean().default(true),
})

export type TrainerOptionsInput = z.input<typeof trainerOptionsSchema>
export type TrainerOptions = Omit<z.output<typeof trainerOptionsSchema>, keyof TrainingOptions> & { readonly training: TrainingOptions }

/** Parses options once, at the edge; an error names each bad field and what was expected. */
export function parseTrainerOptions(input: TrainerOptionsInput = {}): TrainerOptions {
  const parsed = trainerOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`)
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `invalid trainer options: ${problems.join('; ')}`, { details: { problems } })
  }
  const { holdoutFraction, minTrainingRows, minPositives, gbdt, logistic, gate, ...role } = parsed.data
  return { ...role, training: resolveTrainingOptions({ holdoutFraction, minTrainingRows, minPositives, gbdt, logistic, gate }) }
}

/** The options an operator sets through `TRAINER_*` environment variables; unset ones keep the defaults above. */
export function trainerOptionsFromConfig(config: Config): TrainerOptionsInput {
  const options: TrainerOptionsInput = {}
  if (config.TRAINER_COOLDOWN_MS !== undefined) options.cooldownMs = config.TRAINER_COOLDOWN_MS
  if (config.TRAINER_HORIZON_DAYS !== undefined) options.horizonDays = config.TRAINER_HORIZON_DAYS
  if (config.TRAINER_SAMPLE_EVERY_DAYS !== undefined) options.sampleEveryDays = config.TRAINER_SAMPLE_EVERY_DAYS
  if (config.TRAINER_LOOKBACK_DAYS !== undefined) options.lookbackDays = config.TRAINER_LOOKBACK_DAYS
  if (config.TRAINER_REFERENCE_DAYS !== undefined) options.referenceDays = config.TRAINER_REFERENCE_DAYS
  if (config.TRAINER_THREAD !== undefined) options.thread = config.TRAINER_THREAD
  if (config.TRAINER_POST_DRIFT_DAYS !== undefined) options.postDriftDays = config.TRAINER_POST_DRIFT_DAYS
  if (config.TRAINER_DATA_WAIT_CHECK_MS !== undefined) options.dataWaitCheckMs = config.TRAINER_DATA_WAIT_CHECK_MS
  const gate: NonNullable<TrainerOptionsInput['gate']> = {}
  if (config.TRAINER_GATE_MIN_ROC_AUC !== undefined) gate.minRocAuc = config.TRAINER_GATE_MIN_ROC_AUC
  if (config.TRAINER_GATE_MIN_IMPROVEMENT !== undefined) gate.minImprovement = config.TRAINER_GATE_MIN_IMPROVEMENT
  if (Object.keys(gate).length > 0) options.gate = gate
  return options
}
