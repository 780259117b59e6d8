import { describe, expect, it } from 'vitest'
import { customerEventSchema, eventTypes, type CustomerEvent, type EventOf } from '../../../schemas/events.js'
import { dayMs } from '../../../producers/simulator/index.js'
import { runEvents, start } from './support.js'

const days = 120
const { events, simulator } = runEvents({ customers: 400, signupsPerDay: 4, seed: 9 }, days)

function ofType<K extends CustomerEvent['type']>(type: K): EventOf<K>[] {
  return events.filter((event): event is EventOf<K> => event.type === type)
}

describe('simulated events', () => {
  it('come in event-time order', () => {
    for (let index = 1; index < events.length; index++) {
      expect((events[index]?.event_time ?? 0) >= (events[index - 1]?.event_time ?? 0)).toBe(true)
    }
    expect(events[events.length - 1]?.event_time).toBeLessThanOrEqual(start + days * dayMs)
  })

  it('are all valid customer events, unchanged by parsing', () => {
    const schema = customerEventSchema({ now: start + (days + 1) * dayMs })
    for (const event of events) {
      const parsed = schema.safeParse(event)
      if (!parsed.success) throw new Error(`${JSON.stringify(event)}: ${parsed.error.message}`)
      expect(parsed.data).toEqual(event)
    }
  })

  it('include every event type, and ids are unique version-4 UUIDs', () => {
    const seen = new Set(events.map((event) => event.type))
    expect([...seen].sort()).toEqual([...eventTypes].sort())
    expect(new Set(events.map((event) => event.event_id)).size).toBe(events.length)
    expect(events.every((event) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/u.test(event.event_id))).toBe(true)
    const stats = simulator.stats()
    expect(stats.eventsGenerated).toBe(events.length)
    expect(Object.values(stats.eventsByType).reduce((sum, count) => sum + count, 0)).toBe(events.length)
  })

  it('start with an initial population of 0 to 72 months of tenure, then daily signups', () => {
    const initial = ofType('signup').filter((event) => event.event_time < start)
    expect(initial).toHaveLength(400)
    const tenureMonths = initial.map((event) => (start - event.event_time) / dayMs / 30.4375)
    expect(Math.min(...tenureMonths)).toBeLessThan(3)
    expect(Math.max(...tenureMonths)).toBeGreaterThan(69)
    expect(Math.max(...tenureMonths)).toBeLessThanOrEqual(72.1)
    const later = ofType('signup').filter((event) => event.event_time >= start)
    expect(later.length / days).toBeGreaterThan(3)
    expect(later.length / days).toBeLessThan(5)
  })

  it('emit nothing for a customer after its cancellation, and each customer cancels at most once', () => {
    const cancelledAt = new Map<string, number>()
    for (const event of events) {
      const at = cancelledAt.get(event.customer_id)
      expect(at, `${event.customer_id} ${event.type} after cancelling`).toBeUndefined()
      if (event.type === 'cancellation') cancelledAt.set(event.customer_id, event.event_time)
    }
    expect(cancelledAt.size).toBeGreaterThan(20)
    expect(simulator.stats().cancelledCustomers).toBe(cancelledAt.size)
  })

  it('bill the current monthly charge, and prices follow plan and services', () => {
    const charge = new Map<string, number>()
    for (const event of events) {
      if (event.type === 'signup' || event.type === 'plan_change') {
        charge.set(event.customer_id, event.payload.monthly_charge)
        expect(event.payload.services.length).toBeGreaterThan(0)
      } else if (event.type === 'payment') {
        expect(event.payload.amount).toBe(charge.get(event.customer_id))
      }
    }
    const signups = ofType('signup')
    const meanCharge = (plan: string): number => {
      const charges = signups.filter((event) => event.payload.plan === plan).map((event) => event.payload.monthly_charge)
      return charges.reduce((sum, value) => sum + value, 0) / charges.length
    }
    expect(meanCharge('basic')).toBeLessThan(meanCharge('standard'))
    expect(meanCharge('standard')).toBeLessThan(meanCharge('premium'))
    for (const event of signups) expect(event.payload.services.includes('internet_dsl') && event.payload.services.includes('internet_fiber')).toBe(false)
  })

  it('resolve tickets only after opening them, and retry failed payments', () => {
    const opened = new Map<string, number>()
    let resolved = 0
    for (const event of ofType('support_ticket')) {
      if (!event.payload.resolved) {
        expect(opened.has(event.payload.ticket_id)).toBe(false)
        opened.set(event.payload.ticket_id, event.event_time)
      } else {
        const openedAt = opened.get(event.payload.ticket_id)
        expect(openedAt).toBeDefined()
        expect(event.event_time).toBeGreaterThan(openedAt ?? Number.POSITIVE_INFINITY)
        resolved++
      }
    }
    expect(resolved).toBeGreaterThan(0)
    expect(resolved).toBeLessThan(opened.size)
    const payments = ofType('payment')
    const statuses = new Set(payments.map((event) => event.payload.status))
    expect([...statuses].sort()).toEqual(['failed', 'late', 'paid'])
    // A failed payment is followed within a week by another attempt most of the time (unless the customer left).
    const failed = payments.filter((event) => event.payload.status === 'failed')
    const retried = failed.filter((failure) => payments.some((event) => event.customer_id === failure.customer_id && event.event_time > failure.event_time && event.event_time - failure.event_time < 7 * dayMs))
    expect(retried.length / failed.length).toBeGreaterThan(0.5)
  })

  it('fail electronic-check payments more often than card payments', () => {
    const rate = (method: string): number => {
      const first = ofType('payment').filter((event) => event.payload.method === method)
      return first.filter((event) => event.payload.status === 'failed').length / first.length
    }
    expect(rate('electronic_check')).toBeGreaterThan(rate('credit_card'))
  })
})
