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
  type Transaction,
} from 'kafkajs'
import type { Registry } from 'prom-client'
import type { Logger } from './logger.js'
import { ConsumerLagGauge } from './consumer-lag.js'
import { ChurnError, ErrorCodes, errorMessage } from './errors.js'
import { RecordCounts } from './record-counts.js'

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
  /**
   * Stable per process instance: a restarted instance fences its predecessor's open transaction.
   * With `producerScope: 'partition'`, the base of one id per input partition instead.
   */
  transactionalId: string
  topics: string[]
  /** Where to start when the group has no committed offset. @default true (earliest) */
  fromBeginning?: boolean
  /** Upper bound on bytes fetched per partition and request, which bounds memory. @default 1 MiB */
  maxBytesPerPartition?: number
  /** How long the group waits for a silent member (a crashed process) before rebalancing. @default 30000 */
  sessionTimeout?: number
  /**
   * `instance`: one transactional producer with id `transactionalId`; batches are processed one at a time.
   * `partition`: one transactional producer per input partition, with id `<transactionalId>-<topic>-<partition>`
   * whichever instance owns the partition, so a new owner fences the previous one (Kafka's exactly-once
   * design before KIP-447, which KafkaJS lacks); batches of different partitions are then processed
   * concurrently, up to `partitionsConsumedConcurrently`. Producers are created when their partition first
   * delivers a batch and closed when it is revoked.
   * @default 'instance'
   */
  producerScope?: 'instance' | 'partition'
  /** Partitions whose batches are processed at once; only with `producerScope: 'partition'`. @default 1 */
  partitionsConsumedConcurrently?: number
  /**
   * Produced records are sent in requests of about this many bytes within the transaction, so that no
   * record batch exceeds the broker's `max.message.bytes` (KafkaJS does not split batches). @default 512 KiB
   */
  maxRequestBytes?: number
  /**
   * Turns one fetched batch into records to produce, and optionally work that must succeed before the
   * transaction commits. Throwing, or that work failing, aborts the transaction; the batch is consumed again.
   */
  transform: (batch: Batch) => Promise<TopicMessages[] | BatchOutput>
  /** Called after each committed transaction. */
  onCommitted?: (info: { topic: string; partition: number; records: number; produced: number }) => void
  /** Called when a batch's transaction was aborted (the batch is consumed again). */
  onAborted?: (info: { topic: string; partition: number; error: unknown }) => void
  /**
   * Where the pipeline reports as `role`: `churn_records_consumed_total`, `churn_records_produced_total` and
   * `churn_records_dead_lettered_total` of committed transactions, and the group's `churn_consumer_lag_records`
   * for the partitions this instance is assigned (read every `lagIntervalMs`, @default 5000).
   * Unset, the pipeline reports nothing.
   */
  metrics?: { registry: Registry; role: string; lagIntervalMs?: number }
}

/** What a batch produces, and what must be done before its transaction commits. */
export interface BatchOutput {
  records: TopicMessages[]
  /** Runs while the records are sent (a side effect elsewhere, such as a store write); the commit waits for it. */
  beforeCommit?: Promise<unknown>
}

export type PipelineState = 'idle' | 'running' | 'stopped'

/** One transactional producer and its id; re-created (same id) after an abort. */
class TransactionalProducer {
  readonly #kafka: Kafka
  readonly #logger: Logger
  readonly transactionalId: string
  #producer: Producer
  #connected: Promise<void> | undefined

  constructor(kafka: Kafka, logger: Logger, transactionalId: string) {
    this.#kafka = kafka
    this.#logger = logger
    this.transactionalId = transactionalId
    this.#producer = this.#create()
  }

  #create(): Producer {
    return createIdempotentProducer(this.#kafka, { transactionalId: this.transactionalId, maxInFlightRequests: 1 })
  }

  /** The connected producer; connecting initialises the transactional id, which fences older holders of it. */
  async get(): Promise<Producer> {
    this.#connected ??= this.#producer.connect().catch((error: unknown) => {
      this.#connected = undefined
      throw error
    })
    await this.#connected
    return this.#producer
  }

  /**
   * KafkaJS keeps its per-partition sequence numbers across an abort, so a retried batch can be
   * taken by the broker for a duplicate of the aborted one and silently dropped. A fresh producer
   * re-initialises the transactional id, which bumps the epoch and resets the sequences.
   */
  async reset(): Promise<void> {
    await this.close().catch((error: unknown) => {
      this.#logger.warn({ err: error, transactionalId: this.transactionalId }, 'disconnecting the aborted producer failed')
    })
    this.#producer = this.#create()
    this.#connected = undefined
    await this.get()
  }

  async close(): Promise<void> {
    const connected = this.#connected
    this.#connected = undefined
    if (connected !== undefined) await this.#producer.disconnect()
  }
}

/**
 * Consume-transform-produce with exactly-once semantics for `read_committed` readers: the records a
 * batch produces and the batch's consumed offsets are committed in one Kafka transaction, or neither is.
 */
export class TransactionalPipeline {
  readonly #options: TransactionalPipelineOptions
  readonly #consumer: Consumer
  /** By `topic|partition` with producerScope 'partition', else one entry. */
  readonly #producers = new Map<string, TransactionalProducer>()
  /** Producers of revoked partitions still disconnecting. */
  readonly #retiring = new Set<Promise<void>>()
  /** Commits past batches of only transaction markers, by `topic|partition`; that partition's next batch waits for them. */
  readonly #markerCommits = new Map<string, Promise<void>>()
  readonly #counts: RecordCounts | undefined
  readonly #lag: ConsumerLagGauge | undefined
  #state: PipelineState = 'idle'
  #closing: Promise<void> | undefined

  constructor(options: TransactionalPipelineOptions) {
    if ((options.partitionsConsumedConcurrently ?? 1) > 1 && options.producerScope !== 'partition') {
      throw new ChurnError(ErrorCodes.CONFIG_INVALID, 'partitionsConsumedConcurrently above 1 needs producerScope: partition (one open transaction per producer)')
    }
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
    if (options.metrics !== undefined) {
      const { registry, role, lagIntervalMs } = options.metrics
      this.#counts = new RecordCounts(registry, role)
      this.#lag = new ConsumerLagGauge({ kafka: options.kafka, consumer: this.#consumer, groupId: options.groupId, registry, logger: options.logger, ...(lagIntervalMs === undefined ? {} : { intervalMs: lagIntervalMs }) })
    }
    this.#commitPastMarkers()
    if (options.producerScope === 'partition') {
      // Batches are all finished before KafkaJS rejoins, so revoked partitions' producers are idle here.
      this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
        const assigned = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => `${topic}|${partition}`)))
        for (const [key, producer] of this.#producers) {
          if (assigned.has(key)) continue
          this.#producers.delete(key)
          this.#retire(producer)
        }
      })
    } else {
      this.#producers.set('', new TransactionalProducer(options.kafka, options.logger, options.transactionalId))
    }
  }

  /**
   * KafkaJS resolves a fetched batch of only transaction markers (or aborted records) without calling eachBatch,
   * and with autoCommit off nothing commits past it: on a transactional input the group would stay behind the last
   * marker (and the records of a transaction aborted last) for good, and its lag would never read 0.
   */
  #commitPastMarkers(): void {
    this.#consumer.on(this.#consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || this.#state !== 'running') return
      const { topic, partition, lastOffset } = payload
      const key = `${topic}|${partition}`
      const commit = (this.#markerCommits.get(key) ?? Promise.resolve())
        .then(() => this.#consumer.commitOffsets([{ topic, partition, offset: nextOffset(lastOffset) }]))
        .catch((error: unknown) => {
          this.#options.logger.debug({ err: error, topic, partition }, 'committing past transaction markers failed; a later batch commits past them')
        })
      this.#markerCommits.set(key, commit)
      void commit.finally(() => {
        if (this.#markerCommits.get(key) === commit) this.#markerCommits.delete(key)
      })
    })
  }

  #retire(producer: TransactionalProducer): void {
    const closing = producer.close().catch((error: unknown) => {
      this.#options.logger.warn({ err: error, transactionalId: producer.transactionalId }, 'closing the producer of a revoked partition failed')
    })
    this.#retiring.add(closing)
    void closing.finally(() => this.#retiring.delete(closing))
  }

  #producerFor(batch: Batch): TransactionalProducer {
    const key = this.#options.producerScope === 'partition' ? `${batch.topic}|${batch.partition}` : ''
    let producer = this.#producers.get(key)
    if (producer === undefined) {
      producer = new TransactionalProducer(this.#options.kafka, this.#options.logger, `${this.#options.transactionalId}-${batch.topic}-${batch.partition}`)
      this.#producers.set(key, producer)
    }
    return producer
  }

  get state(): PipelineState {
    return this.#state
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new ChurnError(ErrorCodes.CLOSED, `pipeline ${this.#options.groupId} is ${this.#state}`)
    this.#state = 'running'
    await this.#producers.get('')?.get()
    await this.#consumer.connect()
    await this.#consumer.subscribe({ topics: this.#options.topics, fromBeginning: this.#options.fromBeginning ?? true })
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async (payload) => {
        const { batch } = payload
        if (!payload.isRunning() || payload.isStale() || batch.isEmpty()) return
        // A commit past markers must not land after (and so behind) this batch's transaction.
        await this.#markerCommits.get(`${batch.topic}|${batch.partition}`)
        await this.#processBatch(batch)
        payload.resolveOffset(batch.lastOffset())
        await payload.heartbeat()
      },
    })
  }

  async #processBatch(batch: Batch): Promise<void> {
    const { logger, groupId, transform, onCommitted, onAborted } = this.#options
    const slot = this.#producerFor(batch)
    // A new partition's producer connects (and fences its predecessor) while the batch is transformed.
    const ready = slot.get()
    ready.catch(() => undefined)
    const result = await transform(batch)
    const output = Array.isArray(result) ? result : result.records
    const pending = Array.isArray(result) ? undefined : result.beforeCommit?.then(() => undefined, (error: unknown) => ({ error }))
    let transaction: Transaction | undefined
    try {
      transaction = await (await ready).transaction()
      for (const request of requests(output, this.#options.maxRequestBytes ?? 524_288)) await transaction.sendBatch({ topicMessages: request })
      const failed = await pending
      if (failed !== undefined) throw failed.error
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset(batch.lastOffset()) }] }],
      })
      await transaction.commit()
    } catch (error) {
      // The batch is consumed again only once its side effects have settled.
      await pending
      try {
        await transaction?.abort()
      } catch (abortError) {
        logger.error({ err: abortError }, 'aborting the transaction failed')
      }
      onAborted?.({ topic: batch.topic, partition: batch.partition, error })
      await slot.reset()
      throw new ChurnError(ErrorCodes.TRANSACTION_ABORTED, `transaction for ${batch.topic}[${batch.partition}] aborted: ${errorMessage(error)}`, {
        canRetry: true,
        cause: error,
      })
    }
    this.#counts?.committed(batch.topic, batch.messages.length, output)
    onCommitted?.({
      topic: batch.topic,
      partition: batch.partition,
      records: batch.messages.length,
      produced: output.reduce((sum, entry) => sum + entry.messages.length, 0),
    })
  }

  /** Stops fetching, lets the in-flight batches finish and commit, then disconnects. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const errors: unknown[] = []
      const steps = [
        () => this.#consumer.stop(),
        () => Promise.all(this.#markerCommits.values()),
        () => this.#consumer.disconnect(),
        () => this.#lag?.close() ?? Promise.resolve(),
        ...[...this.#producers.values()].map((producer) => () => producer.close()),
        () => Promise.all(this.#retiring),
      ]
      for (const step of steps) {
        try {
          await step()
        } catch (error) {
          errors.push(error)
        }
      }
      this.#producers.clear()
      this.#state = 'stopped'
      if (errors.length > 0) throw new ChurnError(ErrorCodes.CLOSED, `closing pipeline ${this.#options.groupId}: ${errors.map(errorMessage).join('; ')}`)
    })()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

/** Record size beyond key and value, as an upper bound (record and batch headers, varints). */
const recordOverhead = 70
/**
 * KafkaJS groups a request's records by partition in quadratic time and garbage (it copies the list
 * per record), while each request has its own fixed cost: measured here, 128 records per request cost
 * about 50% more CPU per record than 500 to 2,000, and above 500 the garbage grows faster than the
 * per-request savings.
 */
const maxRequestRecords = 500

/** Splits what a batch produces into produce requests of at most about `maxBytes` (and 500 records) each. */
function* requests(output: readonly TopicMessages[], maxBytes: number): Generator<TopicMessages[]> {
  let request: TopicMessages[] = []
  let bytes = 0
  let records = 0
  for (const { topic, messages } of output) {
    let from = 0
    for (let i = 0; i < messages.length; i += 1) {
      const message = messages[i]
      const size = recordOverhead + byteSize(message?.key) + byteSize(message?.value) + headerBytes(message)
      if ((bytes + size > maxBytes || records === maxRequestRecords) && records > 0) {
        if (i > from) request.push({ topic, messages: messages.slice(from, i) })
        yield request
        request = []
        bytes = 0
        records = 0
        from = i
      }
      bytes += size
      records += 1
    }
    if (messages.length > from) request.push({ topic, messages: from === 0 ? messages : messages.slice(from) })
  }
  if (request.length > 0) yield request
}

function byteSize(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length
}

function headerBytes(message: Message | undefined): number {
  let bytes = 0
  for (const [key, value] of Object.entries(message?.headers ?? {})) {
    bytes += 10 + Buffer.byteLength(key)
    for (const item of Array.isArray(value) ? value : [value]) bytes += typeof item === 'string' || Buffer.isBuffer(item) ? byteSize(item) : 0
  }
  return bytes
}

/** The offset to commit after consuming `offset`: Kafka commits the position of the next record. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString()
}

export type { Batch, Message, TopicMessages, Producer, Consumer }
export { Kafka }
