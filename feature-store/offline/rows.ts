import type { CustomerEvent } from '../../schemas/events.js'

/** A `customer_events` row: the envelope, the payload flattened, and where the record came from. */
export interface EventRow {
  event_id: string
  customer_id: string
  /** Milliseconds since the epoch (the client writes DateTime64(3) from it). */
  event_time: number
  type: string
  plan?: string
  contract?: string
  payment_method?: string
  monthly_charge?: number
  services?: string[]
  paperless_billing?: number
  senior?: number
  partner?: number
  dependents?: number
  region?: string
  channel?: string
  sessions?: number
  minutes?: number
  data_mb?: number
  amount?: number
  status?: string
  method?: string
  ticket_id?: string
  category?: string
  severity?: string
  resolved?: number
  reason?: string
  voluntary?: number
  src_topic: string
  src_partition: number
  src_offset: string
}

const flag = (value: boolean): number => (value ? 1 : 0)

export function eventRow(event: CustomerEvent, source: { topic: string; partition: number; offset: string }): EventRow {
  const base = { event_id: event.event_id, customer_id: event.customer_id, event_time: event.event_time, type: event.type, src_topic: source.topic, src_partition: source.partition, src_offset: source.offset }
  switch (event.type) {
    case 'signup': {
      const p = event.payload
      return {
        ...base,
        plan: p.plan,
        contract: p.contract,
        payment_method: p.payment_method,
        monthly_charge: p.monthly_charge,
        services: p.services,
        paperless_billing: flag(p.paperless_billing),
        senior: flag(p.demographics.senior),
        partner: flag(p.demographics.partner),
        dependents: flag(p.demographics.dependents),
        region: p.demographics.region,
        channel: p.channel,
      }
    }
    case 'plan_change': {
      const p = event.payload
      return { ...base, plan: p.plan, contract: p.contract, monthly_charge: p.monthly_charge, services: p.services, payment_method: p.payment_method ?? '' }
    }
    case 'usage':
      return { ...base, sessions: event.payload.sessions, minutes: event.payload.minutes, data_mb: event.payload.data_mb }
    case 'payment':
      return { ...base, amount: event.payload.amount, status: event.payload.status, method: event.payload.method ?? '' }
    case 'support_ticket':
      return { ...base, ticket_id: event.payload.ticket_id, category: event.payload.category, severity: event.payload.severity, resolved: flag(event.payload.resolved) }
    case 'cancellation':
      return { ...base, reason: event.payload.reason, voluntary: flag(event.payload.voluntary) }
  }
}
