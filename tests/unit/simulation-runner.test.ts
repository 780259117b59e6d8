import { describe, expect, it } from 'vitest'
import { runSimulation } from '../../producers/simulation-runner.js'
import type { EventSink } from '../../producers/sinks.js'
import { createSimulator, dayMs } from '../../producers/simulator/index.js'
import type { CustomerEvent } from '../../schemas/events.js'

class MemorySink implements EventSink {
  readonly events: CustomerEvent[] = []
  write(events: readonly CustomerEvent[]): Promise<void> {
    this.events.push(...events)
    return Promise.resolve()
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
}

const start = Date.UTC(2026, 0, 1)

describe('simulation runner', () => {
  it('sends the same events in event-time order for the same seed', async () => {
    const run = async (seed: number): Promise<CustomerEvent[]> => {
      const simulator = createSimulator({ seed, customers: 200, start })
      const sink = new MemorySink()
      await sink.write(simulator.advanceTo(start))
      await runSimulation(simulator, sink, start, start + 20 * dayMs, { durationMs: 0, daysPerSecond: 0, maxEventsPerSecond: Number.POSITIVE_INFINITY })
      return sink.events
    }
    const first = await run(3)
    expect(first.length).toBeGreaterThan(1_000)
    expect(await run(3)).toEqual(first)
    expect((await run(4)).map((e) => e.event_id)).not.toEqual(first.map((e) => e.event_id))
    for (let i = 1; i < first.length; i += 1) expect(first[i]?.event_time).toBeGreaterThanOrEqual(first[i - 1]?.event_time ?? 0)
    expect(first.at(-1)?.event_time).toBeLessThanOrEqual(start + 20 * dayMs)
  })

  it('follows the wall clock at the given speed and slows the simulated clock to honour the rate cap', async () => {
    let wall = 0
    const now = (): number => wall
    const simulator = createSimulator({ seed: 1, customers: 2_000, start })
    simulator.advanceTo(start)
    const sink: EventSink = {
      write: (events) => {
        // Each write takes wall time, as a real sink would.
        wall += 10
        expect(events.length).toBeGreaterThan(0)
        return Promise.resolve()
      },
      close: () => Promise.resolve(),
    }
    const sleep = (ms: number): Promise<void> => {
      wall += ms
      return Promise.resolve()
    }
    const progress = await runSimulation(simulator, sink, start, start + 100 * dayMs, { durationMs: 3_000, daysPerSecond: 2, maxEventsPerSecond: 500, now, sleep })
    // At most 500 events per wall second, so far fewer than two simulated days per second of 2,000 customers' activity.
    expect(progress.events).toBeLessThanOrEqual(500 * (progress.elapsedMs / 1000) + 1)
    expect(progress.simTime).toBeLessThan(start + 6 * dayMs)
    expect(progress.elapsedMs).toBeGreaterThanOrEqual(3_000)
  })

  it('advances two simulated days per wall second when the rate allows', async () => {
    let wall = 0
    const simulator = createSimulator({ seed: 1, customers: 300, start })
    simulator.advanceTo(start)
    const sink = new MemorySink()
    const progress = await runSimulation(simulator, sink, start, start + 100 * dayMs, {
      durationMs: 3_000,
      daysPerSecond: 2,
      maxEventsPerSecond: Number.POSITIVE_INFINITY,
      now: () => wall,
      sleep: (ms) => {
        wall += ms
        return Promise.resolve()
      },
    })
    expect(progress.simTime).toBeGreaterThan(start + 5.8 * dayMs)
    expect(progress.simTime).toBeLessThanOrEqual(start + 6 * dayMs)
    expect(sink.events.every((event) => event.event_time <= progress.simTime)).toBe(true)
  })
})
