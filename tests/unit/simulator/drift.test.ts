import { describe, expect, it } from 'vitest'
import type { CustomerEvent, EventOf } from '../../../schemas/events.js'
import {
  KnownHazard,
  baseCoefficients,
  conceptDriftCoefficients,
  dayMs,
  type ObservableState,
} from '../../../producers/simulator/index.js'
import { dayOf, mean, monthlyChurn, runEvents, start } from './support.js'

const days = 130
const driftDay = 60
const driftAt = start + driftDay * dayMs
const base = { customers: 2_000, signupsPerDay: 2, seed: 31 }
const control = runEvents(base, days).events

function before(events: readonly CustomerEvent[]): CustomerEvent[] {
  return events.filter((event) => event.event_time < driftAt)
}

/** Mean usage minutes a day per customer over [fromDay, toDay), counting only the given customers while active. */
function minutesPerDay(events: readonly CustomerEvent[], customers: ReadonlySet<string>, fromDay: number, toDay: number): number {
  let minutes = 0
  const activeDays = new Map<string, number>()
  for (const event of events) {
    if (!customers.has(event.customer_id)) continue
    const day = dayOf(event.event_time)
    if (event.type === 'usage' && day >= fromDay && day < toDay) minutes += event.payload.minutes
    if (event.type === 'cancellation') activeDays.set(event.customer_id, Math.max(0, Math.min(toDay, day) - fromDay))
  }
  let exposure = 0
  for (const customer of customers) exposure += activeDays.get(customer) ?? toDay - fromDay
  return minutes / exposure
}

describe('price_rise drift', () => {
  const drifted = runEvents({ ...base, drift: { at: driftAt, kind: 'price_rise', share: 0.5 } }, days).events
  const charge = new Map<string, number>()
  const raised = new Set<string>()
  const ratios: number[] = []
  for (const event of drifted) {
    if (event.type === 'plan_change' && dayOf(event.event_time) === driftDay && event.payload.payment_method === null) {
      const previous = charge.get(event.customer_id) ?? Number.NaN
      const ratio = event.payload.monthly_charge / previous
      if (ratio > 1.14) {
        raised.add(event.customer_id)
        ratios.push(ratio)
      }
    }
    if (event.type === 'signup' || event.type === 'plan_change') charge.set(event.customer_id, event.payload.monthly_charge)
  }

  it('leaves everything before the drift as it was', () => {
    expect(before(drifted)).toEqual(before(control))
  })

  it('raises the charges of about the chosen share of customers by 15-25% with plan_change events', () => {
    const active = new Set(before(control).map((event) => event.customer_id))
    for (const event of before(control)) if (event.type === 'cancellation') active.delete(event.customer_id)
    expect(raised.size / active.size).toBeGreaterThan(0.4)
    expect(raised.size / active.size).toBeLessThan(0.6)
    expect(Math.min(...ratios)).toBeGreaterThan(1.145)
    expect(Math.max(...ratios)).toBeLessThan(1.255)
    const payments = drifted.filter((event): event is EventOf<'payment'> => event.type === 'payment' && raised.has(event.customer_id))
    const amountBefore = mean(payments.filter((event) => dayOf(event.event_time) < driftDay).map((event) => event.payload.amount))
    const amountAfter = mean(payments.filter((event) => dayOf(event.event_time) > driftDay + 1).map((event) => event.payload.amount))
    expect(amountAfter / amountBefore).toBeGreaterThan(1.12)
  })

  it('makes the customers whose price rose churn more than they did without it', () => {
    const include = (customer: string): boolean => raised.has(customer)
    const withRise = monthlyChurn(drifted, driftDay, days, include)
    const without = monthlyChurn(control, driftDay, days, include)
    expect(withRise).toBeGreaterThan(1.4 * without)
  })
})

describe('usage_drop drift', () => {
  const drifted = runEvents({ ...base, drift: { at: driftAt, kind: 'usage_drop', share: 0.5 } }, days).events

  it('cuts the usage of the affected customers and leaves the past alone', () => {
    expect(before(drifted)).toEqual(before(control))
    const everyone = new Set(control.filter((event) => event.type === 'signup' && event.event_time < driftAt).map((event) => event.customer_id))
    const after = minutesPerDay(drifted, everyone, driftDay + 15, days)
    const unchanged = minutesPerDay(control, everyone, driftDay + 15, days)
    // Half the customers lose about 45% of their engagement, which costs more than that in minutes.
    expect(after / unchanged).toBeLessThan(0.85)
    expect(after / unchanged).toBeGreaterThan(0.5)
    const beforeDrift = minutesPerDay(drifted, everyone, driftDay - 30, driftDay)
    expect(beforeDrift).toBeCloseTo(minutesPerDay(control, everyone, driftDay - 30, driftDay), 10)
  })

  it('raises churn through the observable usage decline', () => {
    expect(monthlyChurn(drifted, driftDay + 15, days)).toBeGreaterThan(1.15 * monthlyChurn(control, driftDay + 15, days))
  })
})

describe('concept drift', () => {
  const drift = { at: driftAt + 3_600_000, kind: 'concept' as const }
  const { simulator, events } = runEvents({ ...base, customers: 800, drift, groundTruth: { everyDays: 7 } }, 110)
  const withFailures: ObservableState = {
    contract: 'month_to_month',
    tenureDays: 400,
    monthlyCharge: 80,
    minPayment90d: 80,
    usageMinutes30d: 900,
    usageMinutes90d: 2_700,
    activeDays30d: 25,
    failedPayments30d: 2,
    ticketsOpened30d: 0,
    ticketsResolved30d: 0,
    worstSeverity30d: 0,
  }
  const withTickets: ObservableState = { ...withFailures, failedPayments30d: 0, ticketsOpened30d: 2, worstSeverity30d: 3, usageMinutes30d: 450 }

  it('switches the hazard coefficients at the first day boundary after the drift time', () => {
    const switchAt = start + (driftDay + 1) * dayMs
    expect(simulator.coefficientsAt(switchAt - 1)).toEqual(baseCoefficients)
    expect(simulator.coefficientsAt(switchAt)).toEqual(conceptDriftCoefficients)
    expect(conceptDriftCoefficients.failedPayments).toBeLessThan(baseCoefficients.failedPayments / 3)
    expect(conceptDriftCoefficients.unresolvedTickets).toBeGreaterThan(baseCoefficients.unresolvedTickets * 2)
    expect(conceptDriftCoefficients.usageDecline).toBeGreaterThan(baseCoefficients.usageDecline * 1.5)
    expect(simulator.hazard(withFailures, switchAt)).toBeLessThan(simulator.hazard(withFailures, switchAt - dayMs) / 2)
    expect(simulator.hazard(withTickets, switchAt)).toBeGreaterThan(simulator.hazard(withTickets, switchAt - dayMs) * 2)
  })

  it('gives oracle probabilities under the new coefficients after the drift, and the events before it unchanged', () => {
    const switchAt = start + (driftDay + 1) * dayMs
    expect(simulator.churnProbability(withFailures, switchAt, 30)).toBeLessThan(simulator.churnProbability(withFailures, switchAt - 40 * dayMs, 30))
    const unchanged = new KnownHazard(start, 30, [])
    const after = simulator.observations().filter((point) => point.asOf >= switchAt)
    expect(after.length).toBeGreaterThan(1_000)
    for (const point of after.slice(0, 500)) {
      expect(point.probability).toBe(simulator.churnProbability(point.state, point.asOf, 30))
    }
    const differing = after.filter((point) => Math.abs(point.probability - unchanged.churnProbability(point.state, point.asOf, 30)) > 1e-6)
    expect(differing.length / after.length).toBeGreaterThan(0.5)
    const small = runEvents({ ...base, customers: 800 }, 110).events
    expect(before(events)).toEqual(before(small))
  })
})
