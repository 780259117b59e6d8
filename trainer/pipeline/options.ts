import { z } from 'zod'
import { parseOptions } from '../dataset/parse-options.js'
import { resolveGbdtOptions, type GbdtOptions, type GbdtOptionsInput } from '../gbdt/options.js'
import { resolveLogisticOptions, type LogisticOptions, type LogisticOptionsInput } from '../logistic/options.js'
import { defaultGatePolicy } from '../registry/gate.js'

/**
 * GBDT settings of training from the offline store, under any the caller sets: small leaves for noisy churn labels, and
 * the number of trees found by early stopping on an inner stratified slice of the training rows, then refit on them all.
 */
export const pipelineGbdtDefaults = {
  numTrees: 500,
  learningRate: 0.05,
  numLeaves: 15,
  minSamplesLeaf: 50,
  validationFraction: 0.2,
  earlyStoppingRounds: 30,
} as const

const object = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value)

export const trainingOptionsSchema = z.strictObject({
  /** Share of the rows, the most recent ones, held out to evaluate the challenger and the champion. @default 0.2 */
  holdoutFraction: z.number().gt(0).lt(1).default(0.2),
  /** A run with fewer training rows (after the holdout and its purge) trains nothing. @default 200 */
  minTrainingRows: z.number().int().min(1).default(200),
  /** A run with fewer positive rows on either side of the split trains nothing. @default 5 */
  minPositives: z.number().int().min(1).default(5),
  /** GBDT options over `pipelineGbdtDefaults` (checked by the GBDT's own schema). */
  gbdt: z.custom<GbdtOptionsInput>(object, 'expected an object').default({}),
  /** Logistic baseline options (checked by its own schema). */
  logistic: z.custom<LogisticOptionsInput>(object, 'expected an object').default({}),
  /** The promotion gate. */
  gate: z
    .strictObject({
      /** @default 0.65 */
      minRocAuc: z.number().min(0).max(1).default(defaultGatePolicy.minRocAuc),
      /** @default 0.1 */
      maxCalibrationError: z.number().min(0).max(1).default(defaultGatePolicy.maxCalibrationError),
      /** @default 0.005 */
      minImprovement: z.number().min(0).max(1).default(defaultGatePolicy.minImprovement),
    })
    .prefault({}),
})

export type TrainingOptionsInput = z.input<typeof trainingOptionsSchema>
export type TrainingOptions = Omit<z.output<typeof trainingOptionsSchema>, 'gbdt' | 'logistic'> & {
  readonly gbdt: GbdtOptions
  readonly logistic: LogisticOptions
}

/** Parses options once, at the edge; only the GBDT fields the caller sets override `pipelineGbdtDefaults`. */
export function resolveTrainingOptions(input: TrainingOptionsInput = {}): TrainingOptions {
  const parsed = parseOptions(trainingOptionsSchema, input, 'training')
  return { ...parsed, gbdt: resolveGbdtOptions({ ...pipelineGbdtDefaults, ...parsed.gbdt }), logistic: resolveLogisticOptions(parsed.logistic) }
}
