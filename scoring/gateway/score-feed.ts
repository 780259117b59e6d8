import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Consumer, Kafka } from 'kafkajs'
import { ChurnError, ErrorCodes, errorMessage } from '../../core/errors.js'
import type { Logger } from '../../core/logger.js'
import { loadSchema } from '../../schemas/avro.js'
import type { TopicCatalog } from '../../schemas/catalog.js'
import { AvroCodec } from '../../schemas/codec.js'
import type { RiskBand } from '../risk.js'
import type { FallbackLevel, Reason } from '../types.js'

/** One record of `churn.scores`, decoded. */
export interface FeedScore {
  customerId: string
  probability: number
  riskBand: RiskBand
  modelVersion: string
  featureSetVersion: string
  featureAgeMs: number
  reasons: Reason[]
  fallbackLevel: FallbackLevel | 'challenger'
  sourceEventTime: number
  scoredAt: number
  partition: number
  offset: string
}

interface ChurnScoreRecord {
  customer_id: string
  probability: number
  risk_band: RiskBand
  model_version: string
  feature_set_version: string
  feature_age_ms: number
  top_reasons: Reason[]
  fallback_level: FallbackLevel | 'challenger'
  source_event_time: number | Date
  scored_at: number | Date
}

const millis = (value: number | Date): number => (value instanceof Date ? value.getTime() : value)

export interface ScoreFeedOptions {
  kafka: Kafka
  registry: SchemaRegistry
  catalog: TopicCatalog
  logger: Logger
  /** A group of this feed's own: offsets are never committed, every feed reads for itself. */
  groupId: string
  /** Read the topic's whole retention first instead of starting at the newest score. @default false */
  fromBeginning?: boolean
}

/**
 * Tails `churn.scores` (read_committed, so aborted scorer transactions never show) and hands each
 * decoded score to every listener. Without `fromBeginning` it starts where the topic ended when
 * `start()` was called: a score written after `start()` resolves is always delivered.
 */
export class ScoreFeed {
  readonly #options: ScoreFeedOptions
  readonly #codec: AvroCodec
  readonly #consumer: Consumer
  readonly #listeners = new Set<(score: FeedScore) => void>()
  readonly #failureListeners = new Set<(error: Error) => void>()
  #started: Promise<void> | undefined
  #closing: Promise<void> | undefined

  constructor(options: ScoreFeedOptions) {
    this.#options = options
    this.#codec = new AvroCodec(options.registry, loadSchema('churnScore'), `${options.catalog.scores.name}-value`)
    this.#consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false, readUncommitted: false })
  }

  get topic(): string {
    return this.#options.catalog.scores.name
  }

  /** Starts reading; resolves once the feed is positioned (or rejects after `timeoutMs`). */
  start(timeoutMs = 30_000): Promise<void> {
    this.#started ??= this.#start(timeoutMs)
    return this.#started
  }

  async #start(timeoutMs: number): Promise<void> {
    const { kafka, logger } = this.#options
    const topic = this.topic
    const ends = new Map<number, string>()
    if (this.#options.fromBeginning !== true) {
      const admin = kafka.admin()
      await admin.connect()
      try {
        for (const { partition, high } of await admin.fetchTopicOffsets(topic)) ends.set(partition, high)
      } finally {
        await admin.disconnect()
      }
    }
    let joined: () => void = () => undefined
    const positioned = new Promise<void>((resolve) => { joined = resolve })
    let first = true
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      // Only the first assignment is moved to the recorded ends; after a rebalance the feed goes on from the newest.
      if (first) {
        first = false
        for (const partition of payload.memberAssignment[topic] ?? []) {
          const offset = ends.get(partition)
          if (offset !== undefined) this.#consumer.seek({ topic, partition, offset })
        }
      }
      joined()
    })
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return
      const error = new ChurnError(ErrorCodes.TRANSPORT, `score feed on ${topic} stopped: ${errorMessage(payload.error)}`, { canRetry: true, cause: payload.error })
      logger.error({ err: payload.error, topic }, error.message)
      for (const listener of this.#failureListeners) listener(error)
    })
    await this.#consumer.connect()
    await this.#consumer.subscribe({ topic, fromBeginning: this.#options.fromBeginning === true })
    await this.#consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const outcome = await this.#codec.decode(message.value)
        if (!outcome.ok) {
          logger.warn({ topic, partition, offset: message.offset, reason: outcome.reason }, `unreadable score skipped: ${outcome.message}`)
          return
        }
        const record = outcome.value as ChurnScoreRecord
        const score: FeedScore = {
          customerId: record.customer_id,
          probability: record.probability,
          riskBand: record.risk_band,
          modelVersion: record.model_version,
          featureSetVersion: record.feature_set_version,
          featureAgeMs: record.feature_age_ms,
          reasons: record.top_reasons,
          fallbackLevel: record.fallback_level,
          sourceEventTime: millis(record.source_event_time),
          scoredAt: millis(record.scored_at),
          partition,
          offset: message.offset,
        }
        for (const listener of this.#listeners) listener(score)
      },
    })
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => { reject(new ChurnError(ErrorCodes.TIMEOUT, `score feed on ${topic} did not join its consumer group within ${timeoutMs} ms`, { canRetry: true })) }, timeoutMs)
    })
    try {
      await Promise.race([positioned, timedOut])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Calls `listener` with every score read from now on; returns the unsubscribe function. */
  subscribe(listener: (score: FeedScore) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Called if the feed stops for good (the consumer crashed without restarting). */
  onFailure(listener: (error: Error) => void): () => void {
    this.#failureListeners.add(listener)
    return () => this.#failureListeners.delete(listener)
  }

  /** Stops reading; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#listeners.clear()
      await this.#consumer.disconnect()
    })()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
