import { z } from 'zod'
import { parseOptions } from '../dataset/parse-options.js'

export const logisticOptionsSchema = z.strictObject({
  /** L2 penalty on the standardised coefficients (not the intercept): loss sum + lambda/2 * |w|^2. @default 1 */
  lambdaL2: z.number().min(0).default(1),
  /** Newton iterations at most. @default 100 */
  maxIterations: z.number().int().min(1).default(100),
  /** Converged when the largest Newton step is below this. @default 1e-8 */
  tolerance: z.number().gt(0).default(1e-8),
  /** Weight multiplier of positive rows (class weighting). @default 1 */
  scalePosWeight: z.number().gt(0).default(1),
})

export type LogisticOptionsInput = z.input<typeof logisticOptionsSchema>
export type LogisticOptions = z.output<typeof logisticOptionsSchema>

export function resolveLogisticOptions(input: LogisticOptionsInput = {}): LogisticOptions {
  return parseOptions(logisticOptionsSchema, input, 'logistic regression')
}
