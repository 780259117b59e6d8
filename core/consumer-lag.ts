import type { Admin, Consumer, Kafka } from 'kafkajs'
import { Gauge, type Registry } from 'prom-client'
import { errorMessage } from './errors.js'
import type { Logger } from './logger.js'
import { metricsOnce } from './metrics.js'

export interface PartitionLag {
  topic: string
  partition: number
  /** Records between the group's committed offset and the end of the partition. */
  lag: number
}

interface PartitionEnds {
  high: bigint
  low: bigint
}

/** End offsets per topic, each read once per cache. */
type EndCache = Map<string, Promise<Map<number, PartitionEnds>>>

function topicEnds(admin: Admin, topic: string, cache: EndCache): Promise<Map<number, PartitionEnds>> {
  let ends = cache.get(topic)
  if (ends === undefined) {
    ends = admin.fetchTopicOffsets(topic).then((offsets) => new Map(offsets.map((p) => [p.partition, { high: BigInt(p.high), low: BigInt(p.low) }])))
    cache.set(topic, ends)
  }
  return ends
}

/**
 * How far a group is behind on `topics` (default: every topic it has committed offsets on), per partition.
 * The end is the high watermark, so records of open transactions count until they are decided. A partition
 * without a committed offset, or with one the log no longer holds, counts from the start of the log.
 */
export async function consumerGroupLag(admin: Admin, groupId: string, topics?: readonly string[], cache: EndCache = new Map()): Promise<PartitionLag[]> {
  const lags: PartitionLag[] = []
  const committed = await admin.fetchOffsets({ groupId, ...(topics === undefined ? {} : { topics: [...topics] }) })
  for (const { topic, partitions } of committed) {
    const ends = await topicEnds(admin, topic, cache)
    for (const { partition, offset } of partitions) {
      const end = ends.get(partition)
      if (end === undefined) continue
      const position = BigInt(offset) < end.low ? end.low : BigInt(offset)
      lags.push({ topic, partition, lag: end.high > position ? Number(end.high - position) : 0 })
    }
  }
  return lags
}

/**
 * The lag of several groups on the topics they committed offsets on, reading each topic's end offsets once.
 * Groups without committed offsets are left out, and so are topics deleted since the group committed on them.
 */
export async function consumerGroupsLag(admin: Admin, groupIds: readonly string[]): Promise<Map<string, PartitionLag[]>> {
  const existing = new Set(await admin.listTopics())
  const cache: EndCache = new Map()
  const lags = new Map<string, PartitionLag[]>()
  for (const groupId of groupIds) {
    const committed = (await admin.fetchOffsets({ groupId })).filter(({ topic, partitions }) => existing.has(topic) && partitions.some((p) => BigInt(p.offset) >= 0n))
    if (committed.length === 0) continue
    lags.set(groupId, await consumerGroupLag(admin, groupId, committed.map(({ topic }) => topic), cache))
  }
  return lags
}

const lagMetrics = metricsOnce((registers) => ({
  lag: new Gauge({
    name: 'churn_consumer_lag_records',
    help: "Records between a consumer group's committed offset and the end of a partition assigned to this process (high watermark, so open transactions count), refreshed every few seconds.",
    labelNames: ['group', 'topic', 'partition'],
    registers,
  }),
}))

export interface ConsumerLagGaugeOptions {
  kafka: Kafka
  /** The consumer whose assigned partitions are reported. */
  consumer: Consumer
  groupId: string
  registry: Registry
  logger: Logger
  /** @default 5000 */
  intervalMs?: number
}

/**
 * Reports `churn_consumer_lag_records` for the partitions a consumer is assigned, so that the instances of a
 * group together report each partition once. Starts with the consumer's first group join; a failed refresh
 * keeps the last values and is logged, never thrown.
 */
export class ConsumerLagGauge {
  readonly #options: ConsumerLagGaugeOptions
  readonly #gauge: Gauge<'group' | 'topic' | 'partition'>
  /** Assigned partitions by topic, as of the last group join. */
  #assigned = new Map<string, number[]>()
  #admin: Admin | undefined
  #connecting: Promise<Admin> | undefined
  #timer: NodeJS.Timeout | undefined
  #refreshing: Promise<void> | undefined
  #failures = 0
  #closed = false
  #closing: Promise<void> | undefined

  constructor(options: ConsumerLagGaugeOptions) {
    this.#options = options
    this.#gauge = lagMetrics(options.registry).lag
    const { consumer } = options
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.#assign(new Map(Object.entries(payload.memberAssignment)))
    })
  }

  #assign(assigned: Map<string, number[]>): void {
    if (this.#closed) return
    const { groupId: group } = this.#options
    for (const [topic, partitions] of this.#assigned) {
      const kept = new Set(assigned.get(topic))
      for (const partition of partitions) if (!kept.has(partition)) this.#gauge.remove({ group, topic, partition: String(partition) })
    }
    this.#assigned = assigned
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => { void this.refresh() }, this.#options.intervalMs ?? 5_000)
      this.#timer.unref()
    }
    void this.refresh()
  }

  /** Reads the lag of the assigned partitions now (one read at a time); never rejects. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#read().finally(() => { this.#refreshing = undefined })
    return this.#refreshing
  }

  async #read(): Promise<void> {
    const { groupId: group, logger } = this.#options
    const topics = [...this.#assigned].filter(([, partitions]) => partitions.length > 0).map(([topic]) => topic)
    if (topics.length === 0 || this.#closed) return
    try {
      const admin = await this.#connect()
      const lags = await consumerGroupLag(admin, group, topics)
      for (const { topic, partition, lag } of lags) {
        if (this.#assigned.get(topic)?.includes(partition) === true) this.#gauge.set({ group, topic, partition: String(partition) }, lag)
      }
      this.#failures = 0
    } catch (error) {
      this.#failures += 1
      // The first failure of a run at warn: a broker outage shows once, not every few seconds.
      logger[this.#failures === 1 ? 'warn' : 'debug']({ err: error, groupId: group }, `reading consumer lag failed; keeping the last values: ${errorMessage(error)}`)
      const admin = this.#admin
      this.#admin = undefined
      this.#connecting = undefined
      await admin?.disconnect().catch(() => undefined)
    }
  }

  #connect(): Promise<Admin> {
    this.#connecting ??= (async () => {
      const admin = this.#options.kafka.admin()
      this.#admin = admin
      await admin.connect()
      return admin
    })()
    return this.#connecting
  }

  /** Stops refreshing and removes this group's series. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true
      clearInterval(this.#timer)
      await this.#refreshing
      const { groupId: group } = this.#options
      for (const [topic, partitions] of this.#assigned) for (const partition of partitions) this.#gauge.remove({ group, topic, partition: String(partition) })
      await this.#admin?.disconnect()
    })()
    return this.#closing
  }
}
