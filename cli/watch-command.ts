import { randomUUID } from 'node:crypto'
import type { Command } from 'commander'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { ScoreFeed, type FeedScore } from '../scoring/gateway/index.js'
import { riskBands, type RiskBand } from '../scoring/risk.js'
import { commandContext } from './context.js'
import { formatReasons } from './score-command.js'

interface WatchOptions {
  minRisk?: string
  customers?: string
  fromBeginning?: boolean
  max?: number
  timeout?: number
  json?: boolean
}

/** `--min-risk`: a probability (0..1) or a risk band name; a score passes when it is at least that. */
export function riskFilter(text: string | undefined): (score: FeedScore) => boolean {
  if (text === undefined) return () => true
  const band = riskBands.indexOf(text as RiskBand)
  if (band >= 0) return (score) => riskBands.indexOf(score.riskBand) >= band
  const probability = Number(text)
  if (text.trim() === '' || !(probability >= 0 && probability <= 1)) {
    throw new ChurnError(ErrorCodes.CONFIG_INVALID, `--min-risk: expected a probability from 0 to 1 or a risk band (${riskBands.join(', ')}), got ${JSON.stringify(text)}`)
  }
  return (score) => score.probability >= probability
}

function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 1) throw new ChurnError(ErrorCodes.CONFIG_INVALID, `${flag}: expected a positive whole number, got ${JSON.stringify(value)}`)
    return n
  }
}

function line(score: FeedScore, json: boolean): string {
  if (json) return JSON.stringify(score)
  const head = `${new Date(score.scoredAt).toISOString()}  ${score.customerId}  ${score.probability.toFixed(4)} ${score.riskBand.padEnd(8)} ${score.modelVersion} (${score.fallbackLevel})`
  return score.reasons.length === 0 ? head : `${head}\n${formatReasons(score.reasons).join('\n')}`
}

export function registerWatchCommand(program: Command): void {
  program
    .command('watch')
    .description('print scores from churn.scores as they arrive (Avro, decoded with the schema registry) until Ctrl-C')
    .option('--min-risk <x>', `only scores at or above a probability (0..1) or a risk band (${riskBands.join(', ')})`)
    .option('--customers <ids>', 'only these customers, comma separated')
    .option('--from-beginning', 'start at the oldest score the topic retains instead of the newest')
    .option('--max <n>', 'stop after printing this many scores', positiveInteger('--max'))
    .option('--timeout <ms>', 'stop after this many milliseconds', positiveInteger('--timeout'))
    .option('--json', 'print one JSON object per line')
    .action(async (options: WatchOptions) => {
      const passes = riskFilter(options.minRisk)
      const customers = new Set((options.customers ?? '').split(',').map((id) => id.trim()).filter((id) => id !== ''))
      const { kafka, registry, catalog, logger } = commandContext('churn-watch')
      const feed = new ScoreFeed({ kafka, registry, catalog, logger, groupId: `${catalog.prefix}churn-watch-${randomUUID().slice(0, 8)}`, fromBeginning: options.fromBeginning === true })
      let printed = 0
      let stop: () => void = () => undefined
      const stopped = new Promise<void>((resolve) => { stop = resolve })
      const onSignal = (): void => { stop() }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      const timer = options.timeout === undefined ? undefined : setTimeout(stop, options.timeout)
      const unsubscribe = feed.subscribe((score) => {
        if (printed >= (options.max ?? Number.POSITIVE_INFINITY)) return
        if (customers.size > 0 && !customers.has(score.customerId)) return
        if (!passes(score)) return
        printed += 1
        console.log(line(score, options.json === true))
        if (printed >= (options.max ?? Number.POSITIVE_INFINITY)) stop()
      })
      const failed = new Promise<never>((_, reject) => { feed.onFailure(reject) })
      // Once stopped nobody waits on it: a late failure must not become an unhandled rejection.
      failed.catch(() => undefined)
      try {
        await Promise.race([feed.start(), stopped])
        process.stderr.write(`watching ${feed.topic} from the ${options.fromBeginning === true ? 'oldest' : 'newest'} score (Ctrl-C stops)\n`)
        await Promise.race([stopped, failed])
      } finally {
        clearTimeout(timer)
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        unsubscribe()
        await feed.close()
      }
    })
}
