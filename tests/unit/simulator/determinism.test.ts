import { describe, expect, it } from 'vitest'
import type { CustomerEvent } from '../../../schemas/events.js'
import { createSimulator, dayMs } from '../../../producers/simulator/index.js'
import { runEvents, start } from './support.js'

const options = { customers: 300, signupsPerDay: 3, seed: 42 }

describe('simulator determinism', () => {
  it('replays byte-identical events, ids included, for the same options and seed', () => {
    const first = runEvents(options, 60).events
    const second = runEvents(options, 60).events
    expect(first.length).toBeGreaterThan(10_000)
    expect(JSON.stringify(second)).toBe(JSON.stringify(first))
  })

  it('produces different events for a different seed', () => {
    const first = runEvents(options, 20).events
    const other = runEvents({ ...options, seed: 43 }, 20).events
    expect(other.map((event) => event.event_id)).not.toEqual(first.map((event) => event.event_id))
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(first))
  })

  it('gives the same sequence whatever the clock steps and event caps', () => {
    const whole = runEvents(options, 30).events
    const simulator = createSimulator({ start, ...options })
    const stepped: CustomerEvent[] = []
    const end = start + 30 * dayMs
    let target = start
    while (simulator.clock < end) {
      target = Math.min(end, target + 3 * 3_600_000)
      // A small cap stops the clock early: the next call picks up where it stopped.
      while (simulator.clock < target) stepped.push(...simulator.advanceTo(target, { maxEvents: 97 }))
    }
    expect(stepped.length).toBe(whole.length)
    expect(JSON.stringify(stepped)).toBe(JSON.stringify(whole))
  })

  it('stops the clock at the last returned event when the cap is hit, never splitting one millisecond', () => {
    const simulator = createSimulator({ start, ...options })
    const batch = simulator.advanceTo(start + 5 * dayMs, { maxEvents: 500 })
    const last = batch[batch.length - 1]
    expect(batch.length).toBeGreaterThanOrEqual(500)
    const stoppedAt = simulator.clock
    expect(stoppedAt).toBe(last?.event_time)
    const next = simulator.advanceTo(start + 5 * dayMs)
    expect(next.length).toBeGreaterThan(0)
    expect(next.every((event) => event.event_time > stoppedAt)).toBe(true)
    expect(simulator.clock).toBe(start + 5 * dayMs)
  })

  it('gives each customer its own random stream, so other customers do not change its history', () => {
    const small = runEvents({ customers: 40, signupsPerDay: 0, seed: 5 }, 45).events
    const large = runEvents({ customers: 90, signupsPerDay: 0, seed: 5 }, 45).events
    for (const customer of ['cust-0', 'cust-17', 'cust-39']) {
      const mine = (events: CustomerEvent[]): CustomerEvent[] => events.filter((event) => event.customer_id === customer)
      expect(mine(large)).toEqual(mine(small))
    }
  })

  it('iterates the same events as advanceTo', () => {
    const whole = runEvents(options, 10).events
    const simulator = createSimulator({ start, ...options })
    const iterated = [...simulator.events(start + 10 * dayMs)]
    expect(iterated).toEqual(whole)
  })
})
