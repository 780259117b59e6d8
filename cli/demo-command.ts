import type { Command } from 'commander'
import { config } from '../core/config.js'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { driftKinds, type DriftKind } from '../producers/simulator/index.js'
import { Stack } from '../stack/stack.js'
import { runDemo } from './demo/demo.js'

interface DemoFlags {
  duration: string
  follow?: boolean
  customers: string
  speed: string
  history: string
  drift: string
  seed: string
  rate: string
  plain?: boolean
}

function number(flag: string, value: string, min: number): number {
  const parsed = Number(value)
  if (!Number.isFinite(parsed) || parsed < min) throw new ChurnError(ErrorCodes.VALIDATION, `--${flag}: expected a number >= ${min}, got "${value}"`)
  return parsed
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('bring the stack up, run every role, simulate a business with drift part-way, and watch the platform retrain')
    .option('--duration <seconds>', 'wall-clock length of the live simulation', '180')
    .option('--follow', 'keep everything running after the simulation until Ctrl-C')
    .option('--customers <n>', 'customers at the start', '1500')
    .option('--speed <days-per-second>', 'simulated days per second in the live part', '0.5')
    .option('--history <days>', 'days of history published first, for the first model', '150')
    .option('--drift <kind>', `drift injected a third into the live part: ${driftKinds.join(', ')}`, 'price_rise')
    .option('--seed <n>', 'same seed, same business', '1')
    .option('--rate <events-per-second>', 'upper bound on live events per second', '2000')
    .option('--plain', 'print a status line every few seconds instead of a full-screen view')
    .action(async (flags: DemoFlags) => {
      if (!driftKinds.includes(flags.drift as DriftKind)) throw new ChurnError(ErrorCodes.VALIDATION, `--drift: expected one of ${driftKinds.join(', ')}, got "${flags.drift}"`)
      const settings = config()
      const stack = new Stack(settings, (line) => { console.log(line) })
      const report = await stack.up()
      console.log(`stack ready in ${(report.elapsedMs / 1000).toFixed(1)} s`)
      const abort = new AbortController()
      const stop = (): void => { abort.abort() }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      const interactive = flags.plain !== true && process.stdout.isTTY
      try {
        const { summary, stop: stopRoles } = await runDemo(settings, {
          durationS: number('duration', flags.duration, 5),
          follow: flags.follow === true,
          customers: number('customers', flags.customers, 10),
          speed: number('speed', flags.speed, 0.01),
          historyDays: number('history', flags.history, 30),
          drift: flags.drift as DriftKind,
          seed: number('seed', flags.seed, 0),
          rate: number('rate', flags.rate, 10),
          interactive,
          signal: abort.signal,
        }, (text) => { console.log(text) })
        const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
        console.log([
          '',
          'summary',
          `  events published          ${summary.events.toLocaleString('en-US')}`,
          `  scores emitted            ${summary.scores.toLocaleString('en-US')} (dead-lettered records: ${summary.deadLettered})`,
          `  event-to-score p99        ${summary.p99LatencyMs === undefined ? '-' : `${Math.round(summary.p99LatencyMs)} ms (histogram bucket bound)`}`,
          `  drift injected            ${day(summary.driftAt)} (${flags.drift})`,
          `  drift windows             ${summary.windows} closed, ${summary.breachedWindows} breached`,
          `  retrain requests          ${summary.retrainRequests}`,
          `  models promoted/rejected  ${summary.promotions}/${summary.rejections}; champion now ${summary.champion ?? 'none'}`,
          '',
          'The stack keeps running for exploration, e.g.:',
          '  TOPIC_PREFIX=demo. npx churn watch --min-risk high',
          '  CLICKHOUSE_PATH=.stack/demo/clickhouse npx churn models list',
          '  Prometheus: http://127.0.0.1:9090',
          'Stop it with `npx churn stack down`.',
        ].join('\n'))
        await stopRoles()
      } finally {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      }
    })
}
