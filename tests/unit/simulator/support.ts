import type { CustomerEvent } from '../../../schemas/events.js'
import { createSimulator, dayMs, type CustomerSimulator, type SimulatorOptionsInput } from '../../../producers/simulator/index.js'

export const start = Date.UTC(2024, 0, 1)

export function dayOf(time: number): number {
  return Math.floor((time - start) / dayMs)
}

/** Runs a simulation day by day and keeps every event (small runs only). */
export function runEvents(options: SimulatorOptionsInput, days: number): { simulator: CustomerSimulator; events: CustomerEvent[] } {
  const simulator = createSimulator({ start, ...options })
  const events: CustomerEvent[] = []
  for (let day = 1; day <= days; day++) {
    for (const event of simulator.advanceTo(start + day * dayMs)) events.push(event)
  }
  return { simulator, events }
}

/** Cancellations per customer-month of exposure over [fromDay, toDay), from the events. */
export function monthlyChurn(events: readonly CustomerEvent[], fromDay: number, toDay: number, include: (customerId: string) => boolean = () => true): number {
  const signedUp = new Map<string, number>()
  const cancelled = new Map<string, number>()
  for (const event of events) {
    if (!include(event.customer_id)) continue
    if (event.type === 'signup') signedUp.set(event.customer_id, event.event_time)
    else if (event.type === 'cancellation') cancelled.set(event.customer_id, event.event_time)
  }
  const from = start + fromDay * dayMs
  const to = start + toDay * dayMs
  let exposureDays = 0
  let cancellations = 0
  for (const [customer, signup] of signedUp) {
    const end = cancelled.get(customer)
    const exposureStart = Math.max(from, signup)
    const exposureEnd = Math.min(to, end ?? to)
    if (exposureEnd > exposureStart) exposureDays += (exposureEnd - exposureStart) / dayMs
    if (end !== undefined && end >= from && end < to) cancellations++
  }
  return cancellations / (exposureDays / 30.4375)
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length
}
