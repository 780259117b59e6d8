import fc from 'fast-check'
import { contracts, paymentMethods, paymentStatuses, plans, services, severities, ticketCategories, type CustomerEvent } from '../../schemas/events.js'

const DAY = 86_400_000

/**
 * Random customer histories for parity tests: a signup, then usage, payments, tickets opened and
 * resolved, plan changes and sometimes a cancellation, with event times that sometimes go backwards
 * (late and out-of-order arrivals) and ties.
 */
export function customerStreamsArbitrary(options: { customers: number; maxEvents: number; minEvents?: number; start: number }): fc.Arbitrary<CustomerEvent[]> {
  const step = fc.record({
    kind: fc.constantFrom('usage', 'usage', 'usage', 'payment', 'payment', 'ticket', 'resolve', 'plan_change', 'late', 'tie'),
    gapHours: fc.integer({ min: 0, max: 72 }),
    lateHours: fc.integer({ min: 1, max: 24 * 6 }),
    sessions: fc.integer({ min: 0, max: 20 }),
    minutes: fc.double({ min: 0, max: 500, noNaN: true, noDefaultInfinity: true }),
    amount: fc.double({ min: 0, max: 300, noNaN: true, noDefaultInfinity: true }),
    status: fc.constantFrom(...paymentStatuses),
    severity: fc.constantFrom(...severities),
    category: fc.constantFrom(...ticketCategories),
    plan: fc.constantFrom(...plans),
    contract: fc.constantFrom(...contracts),
    method: fc.option(fc.constantFrom(...paymentMethods), { nil: null }),
    services: fc.uniqueArray(fc.constantFrom(...services), { maxLength: 4 }),
    charge: fc.double({ min: 10, max: 150, noNaN: true, noDefaultInfinity: true }),
  })
  const customer = fc.record({
    signup: fc.record({ contract: fc.constantFrom(...contracts), method: fc.constantFrom(...paymentMethods), charge: fc.double({ min: 10, max: 150, noNaN: true, noDefaultInfinity: true }), services: fc.uniqueArray(fc.constantFrom(...services), { maxLength: 5 }), senior: fc.boolean(), paperless: fc.boolean() }),
    steps: fc.array(step, { minLength: options.minEvents ?? 1, maxLength: options.maxEvents }),
    cancels: fc.boolean(),
  })
  return fc.array(customer, { minLength: options.customers, maxLength: options.customers }).map((histories) => {
    const events: CustomerEvent[] = []
    histories.forEach((history, c) => {
      const id = `p-${c}`
      let clock = options.start + c * 3_600_000
      let ticket = 0
      const open: string[] = []
      let n = 0
      const eventId = (): string => `00000000-0000-4000-8000-${String(c).padStart(4, '0')}${String(n++).padStart(8, '0')}`
      events.push({ event_id: eventId(), customer_id: id, event_time: clock, type: 'signup', payload: { plan: 'standard', contract: history.signup.contract, payment_method: history.signup.method, monthly_charge: history.signup.charge, services: history.signup.services, paperless_billing: history.signup.paperless, demographics: { senior: history.signup.senior, partner: false, dependents: true, region: 'r' }, channel: 'web' } })
      for (const s of history.steps) {
        clock += s.gapHours * 3_600_000
        const time = s.kind === 'late' ? clock - s.lateHours * 3_600_000 : clock
        const base = { event_id: eventId(), customer_id: id, event_time: s.kind === 'tie' ? clock : time }
        if (s.kind === 'usage' || s.kind === 'late' || s.kind === 'tie') events.push({ ...base, type: 'usage', payload: { sessions: s.sessions, minutes: s.minutes, data_mb: s.minutes * 2 } })
        else if (s.kind === 'payment') events.push({ ...base, type: 'payment', payload: { amount: s.amount, status: s.status, method: s.method } })
        else if (s.kind === 'ticket') {
          const ticketId = `t-${c}-${ticket++}`
          open.push(ticketId)
          events.push({ ...base, type: 'support_ticket', payload: { ticket_id: ticketId, category: s.category, severity: s.severity, resolved: false } })
        } else if (s.kind === 'resolve' && open.length > 0) {
          events.push({ ...base, type: 'support_ticket', payload: { ticket_id: open.shift() ?? '', category: s.category, severity: s.severity, resolved: true } })
        } else if (s.kind === 'plan_change') {
          events.push({ ...base, type: 'plan_change', payload: { plan: s.plan, contract: s.contract, monthly_charge: s.charge, services: s.services, payment_method: s.method } })
        }
      }
      if (history.cancels) events.push({ event_id: eventId(), customer_id: id, event_time: clock + DAY, type: 'cancellation', payload: { reason: 'price', voluntary: true } })
    })
    return events
  })
}
