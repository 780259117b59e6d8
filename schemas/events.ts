import { randomUUID } from 'node:crypto'
import { z } from 'zod'

export const plans = ['basic', 'standard', 'premium'] as const
export const contracts = ['month_to_month', 'one_year', 'two_year'] as const
export const paymentMethods = ['electronic_check', 'mailed_check', 'bank_transfer', 'credit_card'] as const
export const services = [
  'phone',
  'internet_dsl',
  'internet_fiber',
  'streaming_tv',
  'streaming_movies',
  'online_security',
  'online_backup',
  'device_protection',
  'tech_support',
] as const
export const channels = ['web', 'store', 'phone', 'partner'] as const
export const paymentStatuses = ['paid', 'failed', 'late'] as const
export const ticketCategories = ['billing', 'technical', 'account', 'cancellation_request', 'other'] as const
export const severities = ['low', 'medium', 'high', 'critical'] as const
export const cancellationReasons = ['price', 'competitor', 'service_quality', 'support', 'moved', 'no_longer_needed', 'non_payment', 'other'] as const
export const eventTypes = ['signup', 'plan_change', 'usage', 'payment', 'support_ticket', 'cancellation'] as const

export type Plan = (typeof plans)[number]
export type Contract = (typeof contracts)[number]
export type PaymentMethod = (typeof paymentMethods)[number]
export type Service = (typeof services)[number]
export type PaymentStatus = (typeof paymentStatuses)[number]
export type TicketCategory = (typeof ticketCategories)[number]
export type Severity = (typeof severities)[number]
export type CancellationReason = (typeof cancellationReasons)[number]
export type EventType = (typeof eventTypes)[number]

/** Customer ids: 1-64 characters, letters, digits and `_.:-`, starting with a letter or digit. */
export const customerIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/u, 'expected 1-64 letters, digits or _.:- starting with a letter or digit')

const money = (max: number): z.ZodNumber => z.number().min(0).max(max)

export const signupSchema = z.strictObject({
  plan: z.enum(plans),
  contract: z.enum(contracts),
  payment_method: z.enum(paymentMethods),
  monthly_charge: money(10_000),
  services: z.array(z.enum(services)).max(services.length).refine((list) => new Set(list).size === list.length, 'services must not repeat'),
  paperless_billing: z.boolean().default(false),
  demographics: z.strictObject({
    senior: z.boolean(),
    partner: z.boolean(),
    dependents: z.boolean(),
    region: z.string().min(1).max(64).default('unknown'),
  }),
  channel: z.enum(channels).default('web'),
})

export const planChangeSchema = z.strictObject({
  plan: z.enum(plans),
  contract: z.enum(contracts),
  monthly_charge: money(10_000),
  services: z.array(z.enum(services)).max(services.length).refine((list) => new Set(list).size === list.length, 'services must not repeat'),
  payment_method: z.enum(paymentMethods).nullable().default(null),
})

export const usageSchema = z.strictObject({
  sessions: z.number().int().min(0).max(100_000),
  minutes: z.number().min(0).max(1_000_000),
  data_mb: z.number().min(0).max(100_000_000),
})

export const paymentSchema = z.strictObject({
  amount: money(100_000),
  status: z.enum(paymentStatuses),
  method: z.enum(paymentMethods).nullable().default(null),
})

export const supportTicketSchema = z.strictObject({
  ticket_id: z.string().min(1).max(64),
  category: z.enum(ticketCategories),
  severity: z.enum(severities),
  resolved: z.boolean(),
})

export const cancellationSchema = z.strictObject({
  reason: z.enum(cancellationReasons),
  voluntary: z.boolean().default(true),
})

export const payloadSchemas = {
  signup: signupSchema,
  plan_change: planChangeSchema,
  usage: usageSchema,
  payment: paymentSchema,
  support_ticket: supportTicketSchema,
  cancellation: cancellationSchema,
} as const satisfies Record<EventType, z.ZodType>

export type Signup = z.output<typeof signupSchema>
export type PlanChange = z.output<typeof planChangeSchema>
export type Usage = z.output<typeof usageSchema>
export type Payment = z.output<typeof paymentSchema>
export type SupportTicket = z.output<typeof supportTicketSchema>
export type Cancellation = z.output<typeof cancellationSchema>

interface PayloadByType {
  signup: Signup
  plan_change: PlanChange
  usage: Usage
  payment: Payment
  support_ticket: SupportTicket
  cancellation: Cancellation
}

/** A validated customer event: the envelope plus the payload its `type` names. */
export type CustomerEvent = {
  [K in EventType]: {
    event_id: string
    customer_id: string
    /** Milliseconds since the epoch, event time. */
    event_time: number
    type: K
    payload: PayloadByType[K]
  }
}[EventType]

export type EventOf<K extends EventType> = Extract<CustomerEvent, { type: K }>

/** Earliest event time accepted: nothing in this business predates it. */
export const earliestEventTime = Date.UTC(2000, 0, 1)
/** How far in the future an event time may be, for clock skew between producers. @default 5 minutes */
export const defaultMaxClockSkewMs = 5 * 60_000

export interface ValidationOptions {
  /** The current time; tests and replays pass their own. @default Date.now() */
  now?: number
  /** @default 5 minutes */
  maxClockSkewMs?: number
}

const eventTime = z.union([z.number().int(), z.iso.datetime({ offset: true }).transform((text) => Date.parse(text))], {
  error: 'expected epoch milliseconds or an ISO 8601 date-time with offset',
})

/** The envelope as it arrives at the edges (JSON): event id optional, time as millis or ISO 8601. */
export function customerEventSchema(options: ValidationOptions = {}): z.ZodType<CustomerEvent> {
  const maxSkew = options.maxClockSkewMs ?? defaultMaxClockSkewMs
  const envelope = z.strictObject({
    event_id: z.uuid().optional(),
    customer_id: customerIdSchema,
    event_time: eventTime,
    type: z.enum(eventTypes, { error: () => `expected one of ${eventTypes.join(', ')}` }),
    payload: z.unknown(),
  })
  return envelope
    .superRefine((event, context) => {
      const now = options.now ?? Date.now()
      if (event.event_time < earliestEventTime) {
        context.addIssue({ code: 'custom', path: ['event_time'], message: `event time ${new Date(event.event_time).toISOString()} is before 2000-01-01` })
      } else if (event.event_time > now + maxSkew) {
        context.addIssue({ code: 'custom', path: ['event_time'], message: `event time ${new Date(event.event_time).toISOString()} is more than ${maxSkew} ms in the future` })
      }
    })
    // Refinements do not stop a transform in zod 4, so the payload is checked here and reports its own issues.
    .transform((event, context) => {
      const payload = payloadSchemas[event.type].safeParse(event.payload)
      if (!payload.success) {
        for (const issue of payload.error.issues) context.addIssue({ ...issue, path: ['payload', ...issue.path] })
        return z.NEVER
      }
      return { event_id: event.event_id ?? randomUUID(), customer_id: event.customer_id, event_time: event.event_time, type: event.type, payload: payload.data } as CustomerEvent
    })
}

/** `path: message` for each problem, for error messages and dead-letter headers. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(event)'}: ${issue.message}`).join('; ')
}
