import { z } from 'zod'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { earliestEventTime } from '../../schemas/events.js'
import { driftKinds } from './types.js'

export const dayMs = 86_400_000
/** The initial population's tenures reach back this far (72 months). */
export const maxInitialTenureDays = 2_192

const simTime = z.union([
  z.number().int('expected milliseconds since the epoch'),
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
  z.date().transform((date) => date.getTime()),
])

export const driftSchema = z.strictObject({
  /** Simulated time the drift takes effect; it applies from the first simulated day boundary at or after it. */
  at: simTime,
  /**
   * `price_rise`: a share of customers get a 15-25% higher charge (plan_change events);
   * `usage_drop`: a share of customers lose engagement, so their usage falls;
   * `concept`: the hazard coefficients move towards the concept-drift set (see README).
   */
  kind: z.enum(driftKinds),
  /** Scales the effect: 1 is the documented size, 0.5 half of it. @default 1 */
  strength: z.number().gt(0).max(2).default(1),
  /** Share of active customers affected (price_rise, usage_drop). @default 0.5 */
  share: z.number().gt(0).max(1).default(0.5),
})

export const simulatorOptionsSchema = z
  .strictObject({
    /** Same options and seed give the same events, ids included. @default 1 */
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1),
    /** Simulated time of the first simulated day (ms, ISO 8601 or Date). @default 2024-01-01T00:00:00Z */
    start: simTime.default(Date.UTC(2024, 0, 1)),
    /** Customers who signed up before `start`, with tenures from 0 to 72 months. @default 10000 */
    customers: z.number().int().min(0).max(1_000_000).default(10_000),
    /** Mean new signups per simulated day (Poisson). @default 10 */
    signupsPerDay: z.number().min(0).max(100_000).default(10),
    /** Horizon of the churn label and the oracle, in days. @default 30 */
    horizonDays: z.number().int().min(1).max(365).default(30),
    /**
     * Days after `start` before the behavioural hazard terms apply: the 30-day windows of the initial population
     * are empty at `start`, and would otherwise read as inactivity. @default 30
     */
    warmupDays: z.number().int().min(0).max(365).default(30),
    /** Customer ids are this prefix and the customer's index. @default 'cust-' */
    customerIdPrefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,40}$/u, 'expected up to 41 letters, digits or _.:- starting with a letter or digit').default('cust-'),
    /** One drift or several. @default [] */
    drift: z
      .union([driftSchema, z.array(driftSchema).max(16)])
      .optional()
      .transform((drift) => (drift === undefined ? [] : Array.isArray(drift) ? drift : [drift])),
    /**
     * Record ground-truth observation points every `everyDays` from the end of the warm-up, for a `share` of the
     * active customers. Off by default: it keeps every point in memory.
     */
    groundTruth: z
      .strictObject({
        /** @default 7 */
        everyDays: z.number().int().min(1).max(365).default(7),
        /** @default 1 */
        share: z.number().gt(0).max(1).default(1),
      })
      .optional(),
  })
  .superRefine((options, context) => {
    if (options.start - maxInitialTenureDays * dayMs < earliestEventTime) {
      context.addIssue({ code: 'custom', path: ['start'], message: 'expected a start at least 72 months after 2000-01-01 (the initial population signs up before it)' })
    }
    options.drift.forEach((drift, index) => {
      if (drift.at < options.start) context.addIssue({ code: 'custom', path: ['drift', index, 'at'], message: 'expected a time at or after start' })
    })
  })

export type SimulatorOptionsInput = z.input<typeof simulatorOptionsSchema>
export type SimulatorOptions = z.output<typeof simulatorOptionsSchema>
export type DriftOptions = z.output<typeof driftSchema>

/** Parses simulator options once, at the edge; an unknown or bad field throws CONFIG_INVALID naming it. */
export function parseSimulatorOptions(input: SimulatorOptionsInput = {}): SimulatorOptions {
  const parsed = simulatorOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(options)'}: ${issue.message}`)
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `invalid simulator options: ${problems.join('; ')}`, { details: { problems } })
  }
  return parsed.data
}
