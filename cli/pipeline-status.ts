import { consumerGroupsLag } from '../core/consumer-lag.js'
import { errorMessage } from '../core/errors.js'
import { readRegistryState } from '../scoring/model-log.js'
import type { CommandContext } from './context.js'

export interface GroupLag {
  group: string
  total: number
  /** Lag per topic, in topic order. */
  topics: { topic: string; lag: number }[]
}

/** What `churn stack status` says about the pipeline beyond the services; each part is an error message when it could not be read. */
export interface PipelineStatus {
  lag: GroupLag[] | { error: string }
  /** The champion's version; undefined when the registry has none. */
  champion: { version: string | undefined } | { error: string }
}

/**
 * The lag of the platform's consumer groups (those named `<TOPIC_PREFIX>churn-*` with committed offsets) and the
 * champion as the model log says. Gives up on a part after `timeoutMs` rather than keep the command waiting.
 */
export async function readPipelineStatus(context: CommandContext, timeoutMs = 5_000): Promise<PipelineStatus> {
  const { kafka, registry, catalog } = context
  const [lag, champion] = await Promise.all([
    settle(withTimeout(readLag(context), timeoutMs)),
    settle(withTimeout(readRegistryState({ kafka, registry, catalog, timeoutMs }).then((state) => ({ version: state?.champion })), timeoutMs + 1_000)),
  ])
  return { lag, champion }
}

async function readLag({ kafka, catalog }: CommandContext): Promise<GroupLag[]> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const prefix = `${catalog.prefix}churn-`
    const groups = (await admin.listGroups()).groups.map(({ groupId }) => groupId).filter((id) => id.startsWith(prefix)).sort()
    const lags = await consumerGroupsLag(admin, groups)
    return [...lags].map(([group, partitions]) => {
      const byTopic = new Map<string, number>()
      for (const { topic, lag } of partitions) byTopic.set(topic, (byTopic.get(topic) ?? 0) + lag)
      const topics = [...byTopic].sort(([a], [b]) => a.localeCompare(b)).map(([topic, lag]) => ({ topic, lag }))
      return { group, total: topics.reduce((sum, { lag }) => sum + lag, 0), topics }
    })
  } finally {
    await admin.disconnect()
  }
}

async function settle<T>(work: Promise<T>): Promise<T | { error: string }> {
  try {
    return await work
  } catch (error) {
    return { error: errorMessage(error) }
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`no answer within ${ms} ms`)) }, ms)
  })
  return Promise.race([work, timeout]).finally(() => { clearTimeout(timer) })
}

/** The lag table and the champion line. */
export function formatPipelineStatus(status: PipelineStatus): string {
  const lines: string[] = []
  if ('error' in status.lag) {
    lines.push(`consumer lag: unavailable (${status.lag.error})`)
  } else if (status.lag.length === 0) {
    lines.push('consumer lag: no consumer group has committed offsets yet')
  } else {
    const header = ['CONSUMER GROUP', 'LAG', 'BY TOPIC']
    const rows = status.lag.map(({ group, total, topics }) => [group, String(total), topics.map(({ topic, lag }) => `${topic} ${lag}`).join(', ')])
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((cells) => cells[column]?.length ?? 0)))
    for (const cells of [header, ...rows]) lines.push(cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd())
  }
  const { champion } = status
  lines.push(`champion: ${'error' in champion ? `unknown (${champion.error})` : (champion.version ?? 'none')}`)
  return lines.join('\n')
}
