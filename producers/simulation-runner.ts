import { setTimeout as delay } from 'node:timers/promises'
import { dayMs, type CustomerSimulator } from './simulator/index.js'
import type { EventSink } from './sinks.js'

export interface SimulationProgress {
  /** Simulated time reached. */
  simTime: number
  events: number
  elapsedMs: number
  eventsPerSecond: number
  activeCustomers: number
}

export interface PacingOptions {
  /** Wall-clock duration of the run. */
  durationMs: number
  /** Simulated days per wall-clock second; 0 runs as fast as the sink takes events. */
  daysPerSecond: number
  /** Upper bound on events per wall-clock second; the simulated clock slows down to honour it. */
  maxEventsPerSecond: number
  onProgress?: (progress: SimulationProgress) => void
  signal?: AbortSignal
  /** Wall clock and sleep, replaceable in tests. @default performance.now and a timer */
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

const tickMs = 50

/**
 * Feeds a simulation to a sink in event-time order, from the simulator's clock up to `to`. Paced,
 * the simulated clock follows the wall clock at `daysPerSecond` for `durationMs`, slowed down when
 * the event rate cap is reached. Unpaced (0 days per second), the whole span is generated as fast
 * as the sink takes it, still under the rate cap.
 */
export async function runSimulation(simulator: CustomerSimulator, sink: EventSink, from: number, to: number, options: PacingOptions): Promise<SimulationProgress> {
  const now = options.now ?? (() => performance.now())
  const sleep = options.sleep ?? ((ms: number) => delay(ms))
  const started = now()
  let events = 0
  let lastReport = started
  const report = (): SimulationProgress => {
    const elapsedMs = now() - started
    const progress = { simTime: simulator.clock, events, elapsedMs, eventsPerSecond: elapsedMs > 0 ? events / (elapsedMs / 1000) : 0, activeCustomers: simulator.stats().activeCustomers }
    options.onProgress?.(progress)
    return progress
  }
  const paced = options.daysPerSecond > 0
  while (simulator.clock < to && options.signal?.aborted !== true) {
    const elapsed = now() - started
    if (paced && elapsed >= options.durationMs) break
    const target = paced ? Math.min(to, from + (elapsed / 1000) * options.daysPerSecond * dayMs) : to
    const capped = Number.isFinite(options.maxEventsPerSecond)
    const allowance = capped ? Math.max(1, Math.floor((elapsed / 1000) * options.maxEventsPerSecond) - events) : Number.POSITIVE_INFINITY
    const batch = simulator.advanceTo(target, { maxEvents: Math.min(allowance, 5_000) })
    if (batch.length > 0) {
      await sink.write(batch)
      events += batch.length
    }
    if (now() - lastReport >= 1_000) {
      lastReport = now()
      report()
    }
    // Wait when caught up with the wall clock or out of rate allowance; otherwise keep going.
    if (paced && (simulator.clock >= target || batch.length >= allowance)) await sleep(tickMs)
    else if (!paced && capped && batch.length >= allowance) await sleep(tickMs)
  }
  return report()
}
