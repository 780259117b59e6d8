import { z } from 'zod'
import { parseOptions } from '../dataset/parse-options.js'
import { resolveGbdtOptions, type GbdtOptions, type GbdtOptionsInput } from '../gbdt/options.js'
import { resolveLogisticOptions, type LogisticOptions, type LogisticOptionsInput } from '../logistic/options.js'

/**
 * GBDT settings of tabular training: LightGBM-like trees with a smaller learning rate, and the number of trees
 * found per fold by early stopping on an inner stratified validation slice, then refit on the whole training fold.
 */
export const tabularGbdtDefaults = {
  numTrees: 2000,
  learningRate: 0.05,
  numLeaves: 31,
  validationFraction: 0.2,
  earlyStoppingRounds: 50,
} as const

export const crossValidationOptionsSchema = z.strictObject({
  /** Number of stratified folds. @default 5 */
  folds: z.number().int().min(2).max(100).default(5),
  /** Seed of the fold assignment and of the models. @default 0 */
  seed: z.number().int().default(0),
  /** GBDT options over `tabularGbdtDefaults` (checked by the GBDT's own schema). */
  gbdt: z.custom<GbdtOptionsInput>((value) => typeof value === 'object' && value !== null, 'expected an object').default({}),
  /** Logistic baseline options (checked by its own schema). */
  logistic: z.custom<LogisticOptionsInput>((value) => typeof value === 'object' && value !== null, 'expected an object').default({}),
  /** Models to evaluate. @default ['gbdt', 'logistic'] */
  models: z.array(z.enum(['gbdt', 'logistic'])).min(1).default(['gbdt', 'logistic']),
})

export type CrossValidationOptionsInput = z.input<typeof crossValidationOptionsSchema>
export type CrossValidationOptions = Omit<z.output<typeof crossValidationOptionsSchema>, 'gbdt' | 'logistic'> & {
  readonly gbdt: GbdtOptions
  readonly logistic: LogisticOptions
}

export function resolveCrossValidationOptions(input: CrossValidationOptionsInput = {}): CrossValidationOptions {
  const parsed = parseOptions(crossValidationOptionsSchema, input, 'cross-validation')
  return {
    ...parsed,
    // Only the fields the caller set override the tabular defaults, so each model's schema sees one merged input.
    gbdt: resolveGbdtOptions({ ...tabularGbdtDefaults, seed: parsed.seed, ...parsed.gbdt }),
    logistic: resolveLogisticOptions(parsed.logistic),
  }
}
