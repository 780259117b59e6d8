import { z } from 'zod'
import { contracts, paymentMethods, plans, services } from '../../schemas/events.js'

/** A column read as is, or through a table of values (anything not in the table is an error). */
const columnRef = <T extends z.ZodType>(value: T) =>
  z.union([
    z.string().min(1).transform((column) => ({ column, values: undefined })),
    z.strictObject({ column: z.string().min(1), values: z.record(z.string(), value) }),
  ])

const optionalFlag = columnRef(z.boolean()).optional()

/**
 * How a table of customer snapshots (one row per customer) becomes events. Columns are named as in
 * the file's header; enumerated columns map each of their values to the contract's value.
 */
export const importMappingSchema = z.strictObject({
  /** When the table was taken; events are back-dated from it. */
  snapshot_time: z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
  columns: z.strictObject({
    customer_id: z.string().min(1),
    /** Whole months since signup. */
    tenure_months: z.string().min(1),
    monthly_charge: z.string().min(1),
    /** Lifetime charges; monthly payments are spread to add up to it when present. */
    total_charges: z.string().min(1).optional(),
    churned: columnRef(z.boolean()),
    contract: columnRef(z.enum(contracts)).optional(),
    payment_method: columnRef(z.enum(paymentMethods)).optional(),
    plan: columnRef(z.enum(plans)).optional(),
    paperless_billing: optionalFlag,
    senior: optionalFlag,
    partner: optionalFlag,
    dependents: optionalFlag,
  }),
  /** Values used when a column is not mapped. */
  defaults: z
    .strictObject({
      contract: z.enum(contracts).default('month_to_month'),
      payment_method: z.enum(paymentMethods).default('electronic_check'),
      plan: z.enum(plans).default('standard'),
    })
    .default({ contract: 'month_to_month', payment_method: 'electronic_check', plan: 'standard' }),
  /** A service is on when its column holds one of `when`. */
  services: z.array(z.strictObject({ service: z.enum(services), column: z.string().min(1), when: z.array(z.string()).min(1) })).default([]),
})

export type ImportMappingInput = z.input<typeof importMappingSchema>
export type ImportMapping = z.output<typeof importMappingSchema>
export interface ColumnRef<T> {
  column: string
  values: Record<string, T> | undefined
}
