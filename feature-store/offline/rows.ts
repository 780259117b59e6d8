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

/**
 * Flattens an event for the `customer_events` table. Plain object literals per type, not spreads:
 * this runs for every event in ingest and in the offline sink.
 */
export function eventRow(event: CustomerEvent, source: { topic: string; partition: number; offset: string }): EventRow {
  const { event_id, customer_id, event_time } = event
  const { topic: src_topic, partition: src_partition, offset: src_offset } = source
  switch (event.type) {
    case 'signup': {
      const p = event.payload
      return {
        event_id, customer_id, event_time, type: 'signup', src_topic, src_partition, src_offset,
        plan: p.plan, contract: p.contract, payment_method: p.payment_method, monthly_charge: p.monthly_charge, services: p.services,
        paperless_billing: flag(p.paperless_billing), senior: flag(p.demographics.senior), partner: flag(p.demographics.partner),
        dependents: flag(p.demographics.dependents), region: p.demographics.region, channel: p.channel,
      }
    }
    case 'plan_change': {
      const p = event.payload
      return { event_id, customer_id, event_time, type: 'plan_change', src_topic, src_partition, src_offset, plan: p.plan, contract: p.contract, monthly_charge: p.monthly_charge, services: p.services, payment_method: p.payment_method ?? '' }
    }
    case 'usage': {
      const p = event.payload
      return { event_id, customer_id, event_time, type: 'usage', src_topic, src_partition, src_offset, sessions: p.sessions, minutes: p.minutes, data_mb: p.data_mb }
    }
    case 'payment': {
      const p = event.payload
      return { event_id, customer_id, event_time, type: 'payment', src_topic, src_partition, src_offset, amount: p.amount, status: p.status, method: p.method ?? '' }
    }
    case 'support_ticket': {
      const p = event.payload
      return { event_id, customer_id, event_time, type: 'support_ticket', src_topic, src_partition, src_offset, ticket_id: p.ticket_id, category: p.category, severity: p.severity, resolved: flag(p.resolved) }
    }
    case 'cancellation': {
      const p = event.payload
      return { event_id, customer_id, event_time, type: 'cancellation', src_topic, src_partition, src_offset, reason: p.reason, voluntary: flag(p.voluntary) }
    }
  }
}
