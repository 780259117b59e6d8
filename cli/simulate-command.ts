import type { Command } from 'commander'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { runSimulation } from '../producers/simulation-runner.js'
import { createSimulator, dayMs, driftKinds, type DriftKind } from '../producers/simulator/index.js'
import { EventPublisher } from '../producers/publisher/index.js'
import { FileSink, PublisherSink, type EventSink } from '../producers/sinks.js'
import { commandContext } from './context.js'

interface SimulateFlags {
  customers: string
  rate: string
  duration: string
  seed: string
  speed: string
  signupsPerDay: string
  driftAt?: string
  drift?: string
  out?: string
  unpaced?: boolean
}

function number(flag: string, value: string, min: number): number {
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || parsed < min) throw new ChurnError(ErrorCodes.VALIDATION, `--${flag}: expected a number >= ${min}, got "${value}"`)
  return parsed
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('simulate a subscription business and publish its customer events (deterministic for a seed)')
    .option('--customers <n>', 'customers signed up before the simulation starts', '10000')
    .option('--rate <events-per-second>', 'upper bound on events per wall-clock second', '5000')
    .option('--duration <seconds>', 'wall-clock length of the run', '60')
    .option('--seed <n>', 'same seed, same events', '1')
    .option('--speed <days-per-second>', 'simulated days per wall-clock second', '1')
    .option('--signups-per-day <n>', 'mean new signups per simulated day', '10')
    .option('--drift-at <seconds>', 'inject drift this many wall-clock seconds into the run')
    .option('--drift <kind>', `kind of drift: ${driftKinds.join(', ')}`)
    .option('--out <file>', 'write JSON lines here instead of publishing to Kafka')
    .option('--unpaced', 'generate the whole simulated span as fast as possible')
    .action(async (flags: SimulateFlags) => {
      const durationS = number('duration', flags.duration, 1)
      const speed = number('speed', flags.speed, 0.001)
      const spanMs = durationS * speed * dayMs
      // The run ends at the current day, so event times are in the past and pass validation.
      const end = Math.floor(Date.now() / dayMs) * dayMs
      const start = end - spanMs
      if ((flags.driftAt === undefined) !== (flags.drift === undefined)) throw new ChurnError(ErrorCodes.VALIDATION, '--drift-at and --drift go together')
      if (flags.drift !== undefined && !driftKinds.includes(flags.drift as DriftKind)) {
        throw new ChurnError(ErrorCodes.VALIDATION, `--drift: expected one of ${driftKinds.join(', ')}, got "${flags.drift}"`)
      }
      const drift = flags.driftAt === undefined ? undefined : { at: Math.round(start + number('drift-at', flags.driftAt, 0) * speed * dayMs), kind: flags.drift as DriftKind }
      const simulator = createSimulator({
        seed: number('seed', flags.seed, 0),
        customers: number('customers', flags.customers, 0),
        signupsPerDay: number('signups-per-day', flags.signupsPerDay, 0),
        start,
        ...(drift === undefined ? {} : { drift }),
      })
      let sink: EventSink
      if (flags.out === undefined) {
        const context = commandContext('churn-simulate')
        sink = new PublisherSink(new EventPublisher({ kafka: context.kafka, registry: context.registry, topic: context.catalog.customerEvents, logger: context.logger }))
      } else {
        sink = new FileSink(flags.out)
      }
      const abort = new AbortController()
      const stop = (): void => { abort.abort() }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      try {
        // The initial population's signups (up to 72 months back) go out first, unpaced.
        const initial = simulator.advanceTo(start)
        await sink.write(initial)
        const result = await runSimulation(simulator, sink, start, end, {
          durationMs: durationS * 1000,
          daysPerSecond: flags.unpaced === true ? 0 : speed,
          maxEventsPerSecond: number('rate', flags.rate, 1),
          signal: abort.signal,
          onProgress: (p) => {
            process.stderr.write(`simulated ${new Date(p.simTime).toISOString().slice(0, 10)}  ${p.events} events  ${Math.round(p.eventsPerSecond)}/s  ${p.activeCustomers} active customers\n`)
          },
        })
        const stats = simulator.stats()
        console.log(`simulated ${((result.simTime - start) / dayMs).toFixed(1)} days: ${initial.length + result.events} events (${Object.entries(stats.eventsByType).map(([type, n]) => `${type} ${n}`).join(', ')}), ${stats.cancelledCustomers} cancellations${flags.out === undefined ? '' : ` -> ${flags.out}`}`)
      } finally {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        await sink.close()
      }
    })
}
