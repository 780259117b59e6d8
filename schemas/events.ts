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

const customerIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/u

/** Customer ids: 1-64 characters, letters, digits and `_.:-`, starting with a letter or digit. */
export const customerIdSchema = z.string().regex(customerIdPattern, 'expected 1-64 letters, digits or _.:- starting with a letter or digit')

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

/** An event time for messages: ISO 8601, or the number when no date has it (beyond ±8.64e15 ms). */
const timeText = (ms: number): string => {
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? `${ms} ms` : date.toISOString()
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
        context.addIssue({ code: 'custom', path: ['event_time'], message: `event time ${timeText(event.event_time)} is before 2000-01-01` })
      } else if (event.event_time > now + maxSkew) {
        context.addIssue({ code: 'custom', path: ['event_time'], message: `event time ${timeText(event.event_time)} is more than ${maxSkew} ms in the future` })
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

const isHex = (code: number): boolean => (code >= 48 && code <= 57) || (code >= 97 && code <= 102) || (code >= 65 && code <= 70)

/**
 * The common form of what `z.uuid()` accepts (RFC 9562 variant, versions 1-8), checked without a
 * regular expression; the nil and max UUIDs it also accepts are left to zod.
 */
function isVariantUuid(text: string): boolean {
  if (text.length !== 36) return false
  for (let i = 0; i < 36; i += 1) {
    const code = text.charCodeAt(i)
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (code !== 45) return false
    } else if (i === 14) {
      if (code < 49 || code > 56) return false
    } else if (i === 19) {
      if (code !== 56 && code !== 57 && code !== 97 && code !== 98 && code !== 65 && code !== 66) return false
    } else if (!isHex(code)) {
      return false
    }
  }
  return true
}

const member = <T extends string>(values: readonly T[]): ((value: unknown) => value is T) => {
  const set = new Set<unknown>(values)
  return (value: unknown): value is T => set.has(value)
}
const isPlan = member(plans)
const isContract = member(contracts)
const isPaymentMethod = member(paymentMethods)
const isChannel = member(channels)
const isPaymentStatus = member(paymentStatuses)
const isTicketCategory = member(ticketCategories)
const isSeverity = member(severities)
const isCancellationReason = member(cancellationReasons)
const serviceBits = new Map<unknown, number>(services.map((service, i) => [service, 1 << i]))

const isAmount = (value: unknown, max: number): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= max
const isCount = (value: unknown, max: number): value is number => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max
/** 1 to `max` characters: UTF-16 units bound code points from above, so this never accepts what zod's length checks refuse. */
const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length >= 1 && value.length <= max

function hasKeys(value: unknown, count: number): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  let keys = 0
  for (const key in value) if (Object.hasOwn(value, key)) keys += 1
  return keys === count
}

function serviceList(value: unknown): value is Service[] {
  if (!Array.isArray(value) || value.length > services.length) return false
  let seen = 0
  for (const service of value) {
    const bit = serviceBits.get(service)
    if (bit === undefined || (seen & bit) !== 0) return false
    seen |= bit
  }
  return true
}

/** Whether a payload certainly passes its zod schema (which would return an equal object). */
function fastPayload(type: EventType, p: unknown): boolean {
  switch (type) {
    case 'signup': {
      if (!hasKeys(p, 8) || !isPlan(p['plan']) || !isContract(p['contract']) || !isPaymentMethod(p['payment_method']) || !isAmount(p['monthly_charge'], 10_000)) return false
      const d = p['demographics']
      if (!serviceList(p['services']) || typeof p['paperless_billing'] !== 'boolean' || !isChannel(p['channel']) || !hasKeys(d, 4)) return false
      return typeof d['senior'] === 'boolean' && typeof d['partner'] === 'boolean' && typeof d['dependents'] === 'boolean' && isText(d['region'], 64)
    }
    case 'plan_change': {
      if (!hasKeys(p, 5) || !isPlan(p['plan']) || !isContract(p['contract']) || !isAmount(p['monthly_charge'], 10_000) || !serviceList(p['services'])) return false
      return p['payment_method'] === null || isPaymentMethod(p['payment_method'])
    }
    case 'usage':
      return hasKeys(p, 3) && isCount(p['sessions'], 100_000) && isAmount(p['minutes'], 1_000_000) && isAmount(p['data_mb'], 100_000_000)
    case 'payment':
      return hasKeys(p, 3) && isAmount(p['amount'], 100_000) && isPaymentStatus(p['status']) && (p['method'] === null || isPaymentMethod(p['method']))
    case 'support_ticket':
      return hasKeys(p, 4) && isText(p['ticket_id'], 64) && isTicketCategory(p['category']) && isSeverity(p['severity']) && typeof p['resolved'] === 'boolean'
    case 'cancellation':
      return hasKeys(p, 2) && isCancellationReason(p['reason']) && typeof p['voluntary'] === 'boolean'
  }
}

/**
 * The hot-path check of an event whose envelope and payload are complete (as an Avro record is): true
 * when it certainly passes `customerEventSchema(options)`, which would return an equal value, so it can
 * be used as it is; false when it may not, and the schema must decide and explain. It never accepts
 * what the schema refuses (a property test holds it to that), so checking it first changes no outcome.
 */
export function isCompleteValidEvent(
  event: { event_id: unknown; customer_id: unknown; event_time: unknown; type: EventType | undefined; payload: unknown },
  options: ValidationOptions = {},
): event is CustomerEvent {
  const { event_id, customer_id, event_time, type } = event
  if (type === undefined || !hasKeys(event, 5) || typeof event_id !== 'string' || typeof customer_id !== 'string' || !Number.isSafeInteger(event_time)) return false
  const time = event_time as number
  if (time < earliestEventTime || time > (options.now ?? Date.now()) + (options.maxClockSkewMs ?? defaultMaxClockSkewMs)) return false
  return customerIdPattern.test(customer_id) && isVariantUuid(event_id) && fastPayload(type, event.payload)
}

/** `path: message` for each problem, for error messages and dead-letter headers. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(event)'}: ${issue.message}`).join('; ')
}
