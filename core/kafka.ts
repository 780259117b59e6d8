import {
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type Batch,
  type Consumer,
  type KafkaConfig,
  type LogEntry,
  type Message,
  type Producer,
  type ProducerConfig,
  type TopicMessages,
} from 'kafkajs'
import type { Logger } from './logger.js'
import { ChurnError, ErrorCodes, errorMessage } from './errors.js'

export interface KafkaClientOptions {
  brokers: string[]
  clientId: string
  logger: Logger
  /** @default 10000 */
  connectionTimeout?: number
  /** @default 30000 */
  requestTimeout?: number
}

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
}

const boundedRetriesWarning = 'Limiting retries for the idempotent producer may invalidate EoS guarantees'
const concurrentTransactions = 'another concurrent operation on the same transaction was ongoing'

/** A KafkaJS client whose own logs go through the process logger as structured lines. */
export function createKafka(options: KafkaClientOptions): Kafka {
  const logger = options.logger.child({ component: 'kafkajs' })
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeout ?? 10_000,
    requestTimeout: options.requestTimeout ?? 30_000,
    logLevel: logger.isLevelEnabled('debug') ? KafkaLogLevel.DEBUG : KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log
      // Producers here bound KafkaJS's retries on purpose and retry with their own backoff, so that a
      // long outage surfaces as a typed error instead of a promise that never settles.
      if (message === boundedRetriesWarning) return
      // The transaction coordinator answers CONCURRENT_TRANSACTIONS while it still writes the previous
      // commit's markers; KafkaJS retries and succeeds (tulios/kafkajs#1315) but logs it as an error.
      const concurrent = entry.level === KafkaLogLevel.ERROR && [message, extra['error']].some((text) => typeof text === 'string' && text.includes(concurrentTransactions))
      const level = concurrent ? 'debug' : (levelNames[entry.level] ?? 'info')
      logger[level]({ namespace: entry.namespace, ...extra }, message)
    },
  }
  return new Kafka(config)
}

/**
 * An idempotent producer: acks from all in-sync replicas, broker-side de-duplication of retries,
 * one request in flight per broker so retries cannot reorder records. Keys are partitioned with
 * murmur2 as the Java client does, so every client puts a customer on the same partition.
 */
export function createIdempotentProducer(kafka: Kafka, options: Omit<ProducerConfig, 'idempotent'> = {}): Producer {
  return kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    maxInFlightRequests: 1,
    ...options,
    idempotent: true,
  })
}

export interface TransactionalPipelineOptions {
  kafka: Kafka
  logger: Logger
  groupId: string
  /** Stable per process instance: a restarted instance fences its predecessor's open transaction. */
  transactionalId: string
  topics: string[]
  /** Where to start when the group has no committed offset. @default true (earliest) */
  fromBeginning?: boolean
  /** Upper bound on bytes fetched per partition and request, which bounds memory. @default 1 MiB */
  maxBytesPerPartition?: number
  /** How long the group waits for a silent member (a crashed process) before rebalancing. @default 30000 */
  sessionTimeout?: number
  /** Turns one fetched batch into records to produce. Throwing aborts the transaction; the batch is consumed again. */
  transform: (batch: Batch) => Promise<TopicMessages[]>
  /** Called after each committed transaction. */
  onCommitted?: (info: { topic: string; partition: number; records: number; produced: number }) => void
  /** Called when a batch's transaction was aborted (the batch is consumed again). */
  onAborted?: (info: { topic: string; partition: number; error: unknown }) => void
}

export type PipelineState = 'idle' | 'running' | 'stopped'

/**
 * Consume-transform-produce with exactly-once semantics for `read_committed` readers: the records a
 * batch produces and the batch's consumed offsets are committed in one Kafka transaction, or neither is.
 */
export class TransactionalPipeline {
  readonly #options: TransactionalPipelineOptions
  readonly #consumer: Consumer
  #producer: Producer
  #state: PipelineState = 'idle'
  #closing: Promise<void> | undefined

  constructor(options: TransactionalPipelineOptions) {
    this.#options = options
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      sessionTimeout: options.sessionTimeout ?? 30_000,
      // A rebalance waits this long for members to rejoin; a crashed member never does.
      rebalanceTimeout: Math.max(10_000, 2 * (options.sessionTimeout ?? 30_000)),
      allowAutoTopicCreation: false,
    })
    this.#producer = this.#createProducer()
  }

  #createProducer(): Producer {
    return createIdempotentProducer(this.#options.kafka, { transactionalId: this.#options.transactionalId, maxInFlightRequests: 1 })
  }

  /**
   * KafkaJS keeps its per-partition sequence numbers across an abort, so a retried batch can be
   * taken by the broker for a duplicate of the aborted one and silently dropped. A fresh producer
   * re-initialises the transactional id, which bumps the epoch and resets the sequences.
   */
  async #resetProducer(): Promise<void> {
    await this.#producer.disconnect().catch((error: unknown) => {
      this.#options.logger.warn({ err: error }, 'disconnecting the aborted producer failed')
    })
    this.#producer = this.#createProducer()
    await this.#producer.connect()
  }

  get state(): PipelineState {
    return this.#state
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new ChurnError(ErrorCodes.CLOSED, `pipeline ${this.#options.groupId} is ${this.#state}`)
    this.#state = 'running'
    await this.#producer.connect()
    await this.#consumer.connect()
    await this.#consumer.subscribe({ topics: this.#options.topics, fromBeginning: this.#options.fromBeginning ?? true })
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload
        if (!payload.isRunning() || payload.isStale() || batch.isEmpty()) return
        await this.#processBatch(batch)
        payload.resolveOffset(batch.lastOffset())
        await payload.heartbeat()
      },
    })
  }

  async #processBatch(batch: Batch): Promise<void> {
    const { logger, groupId, transform, onCommitted, onAborted } = this.#options
    const output = await transform(batch)
    const transaction = await this.#producer.transaction()
    try {
      if (output.some((entry) => entry.messages.length > 0)) {
        await transaction.sendBatch({ topicMessages: output.filter((entry) => entry.messages.length > 0) })
      }
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset(batch.lastOffset()) }] }],
      })
      await transaction.commit()
    } catch (error) {
      try {
        await transaction.abort()
      } catch (abortError) {
        logger.error({ err: abortError }, 'aborting the transaction failed')
      }
      onAborted?.({ topic: batch.topic, partition: batch.partition, error })
      await this.#resetProducer()
      throw new ChurnError(ErrorCodes.TRANSACTION_ABORTED, `transaction for ${batch.topic}[${batch.partition}] aborted: ${errorMessage(error)}`, {
        canRetry: true,
        cause: error,
      })
    }
    onCommitted?.({
      topic: batch.topic,
      partition: batch.partition,
      records: batch.messages.length,
      produced: output.reduce((sum, entry) => sum + entry.messages.length, 0),
    })
  }

  /** Stops fetching, lets the in-flight batch finish and commit, then disconnects. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const errors: unknown[] = []
      for (const step of [() => this.#consumer.stop(), () => this.#consumer.disconnect(), () => this.#producer.disconnect()]) {
        try {
          await step()
        } catch (error) {
          errors.push(error)
        }
      }
      this.#state = 'stopped'
      if (errors.length > 0) throw new ChurnError(ErrorCodes.CLOSED, `closing pipeline ${this.#options.groupId}: ${errors.map(errorMessage).join('; ')}`)
    })()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

/** The offset to commit after consuming `offset`: Kafka commits the position of the next record. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString()
}

export type { Batch, Message, TopicMessages, Producer, Consumer }
export { Kafka }
