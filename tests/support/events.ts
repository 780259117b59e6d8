import fc from 'fast-check'
import {
  cancellationReasons,
  channels,
  contracts,
  paymentMethods,
  paymentStatuses,
  plans,
  services,
  severities,
  ticketCategories,
  type CustomerEvent,
  type EventOf,
} from '../../schemas/events.js'

/** Doubles Avro stores exactly and zod accepts (finite, within the contract's ranges). */
const amount = (max: number): fc.Arbitrary<number> => fc.double({ min: 0, max, noNaN: true, noDefaultInfinity: true }).map((value) => Object.is(value, -0) ? 0 : value)

const serviceList = fc.uniqueArray(fc.constantFrom(...services), { maxLength: services.length })

export const payloadArbitraries = {
  signup: fc.record({
    plan: fc.constantFrom(...plans),
    contract: fc.constantFrom(...contracts),
    payment_method: fc.constantFrom(...paymentMethods),
    monthly_charge: amount(10_000),
    services: serviceList,
    paperless_billing: fc.boolean(),
    demographics: fc.record({ senior: fc.boolean(), partner: fc.boolean(), dependents: fc.boolean(), region: fc.string({ minLength: 1, maxLength: 12 }) }),
    channel: fc.constantFrom(...channels),
  }),
  plan_change: fc.record({
    plan: fc.constantFrom(...plans),
    contract: fc.constantFrom(...contracts),
    monthly_charge: amount(10_000),
    services: serviceList,
    payment_method: fc.option(fc.constantFrom(...paymentMethods), { nil: null }),
  }),
  usage: fc.record({ sessions: fc.integer({ min: 0, max: 100_000 }), minutes: amount(1_000_000), data_mb: amount(100_000_000) }),
  payment: fc.record({ amount: amount(100_000), status: fc.constantFrom(...paymentStatuses), method: fc.option(fc.constantFrom(...paymentMethods), { nil: null }) }),
  support_ticket: fc.record({
    ticket_id: fc.string({ minLength: 1, maxLength: 64 }),
    category: fc.constantFrom(...ticketCategories),
    severity: fc.constantFrom(...severities),
    resolved: fc.boolean(),
  }),
  cancellation: fc.record({ reason: fc.constantFrom(...cancellationReasons), voluntary: fc.boolean() }),
}

const customerId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/u)

/** Valid customer events of every type; event times between 2000 and `latest`. */
export function customerEventArbitrary(latest = Date.UTC(2026, 0, 1)): fc.Arbitrary<CustomerEvent> {
  const envelope = fc.record({ event_id: fc.uuid({ version: 4 }), customer_id: customerId, event_time: fc.integer({ min: Date.UTC(2000, 0, 1), max: latest }) })
  return fc.oneof(
    ...Object.entries(payloadArbitraries).map(([type, payload]) =>
      fc.record({ envelope, payload: payload as fc.Arbitrary<unknown> }).map(({ envelope: head, payload: body }) => ({ ...head, type, payload: body }) as CustomerEvent),
    ),
  )
}

export function usageEvent(customerId: string, eventTime: number, sessions = 3): EventOf<'usage'> {
  return { event_id: crypto.randomUUID(), customer_id: customerId, event_time: eventTime, type: 'usage', payload: { sessions, minutes: sessions * 12.5, data_mb: sessions * 40 } }
}
