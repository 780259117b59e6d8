/**
 * Simulator generation throughput, single thread, no Kafka: a business of BENCH_CUSTOMERS customers advanced one
 * simulated day per call, as the CLI paces it, counting every event including the initial signups.
 * Compared against the 50,000 events/s target, and against a floor measured in the same run: building the
 * same number of usage events with seeded ids and nothing else. Run: npm run bench:simulator
 */
import { createSimulator, dayMs } from '../producers/simulator/index.js'
import { streamFor, uniform, uuidFrom } from '../producers/simulator/random.js'
import type { CustomerEvent } from '../schemas/events.js'

const customers = Number(process.env['BENCH_CUSTOMERS'] ?? 20_000)
const days = Number(process.env['BENCH_DAYS'] ?? 60)
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5)
const target = 50_000

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2
}

function rate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')} events/s`
}

/** Keeps a result alive so the JIT cannot drop the work. */
let sink = 0

function simulate(seed: number): { events: number; seconds: number } {
  const started = performance.now()
  const simulator = createSimulator({ customers, signupsPerDay: customers / 1_000, seed })
  let events = 0
  for (let day = 1; day <= days; day++) {
    const batch = simulator.advanceTo(simulator.options.start + day * dayMs)
    events += batch.length
    sink += batch[batch.length - 1]?.event_time ?? 0
  }
  return { events, seconds: (performance.now() - started) / 1000 }
}

function floor(count: number, seed: number): number {
  const rng = streamFor(seed, 1, 0)
  const started = performance.now()
  const batch: CustomerEvent[] = []
  for (let index = 0; index < count; index++) {
    batch.push({ event_id: uuidFrom(rng), customer_id: 'cust-1', event_time: index, type: 'usage', payload: { sessions: 1, minutes: uniform(rng), data_mb: 1 } })
    if (batch.length === 20_000) {
      sink += batch.length
      batch.length = 0
    }
  }
  return count / ((performance.now() - started) / 1000)
}

console.log(`simulator: ${customers.toLocaleString('en-US')} customers, ${days} simulated days, ${rounds} rounds (one warm-up round not counted)`)
simulate(0)
const rates: number[] = []
const floors: number[] = []
let perRound = 0
for (let round = 1; round <= rounds; round++) {
  const { events, seconds } = simulate(round)
  perRound = events
  rates.push(events / seconds)
  floors.push(floor(events, round))
  console.log(`  round ${round}: ${events.toLocaleString('en-US')} events in ${seconds.toFixed(2)} s = ${rate(events / seconds)}`)
}
const simulated = median(rates)
const baseline = median(floors)
console.log(`median: ${rate(simulated)} (${perRound.toLocaleString('en-US')} events a round)`)
console.log(`target ${rate(target)}: ratio ${(simulated / target).toFixed(2)} (>= 1.00) ${simulated >= target ? 'PASS' : 'FAIL'}`)
console.log(`floor (event objects with seeded ids only) ${rate(baseline)}: simulator at ${(simulated / baseline).toFixed(2)} of it`)
if (sink === Number.MIN_VALUE) console.log('')
process.exitCode = simulated >= target ? 0 : 1
