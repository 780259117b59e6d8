import type { ClickHouseClient } from '@clickhouse/client'
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Consumer, EachBatchPayload, Kafka, Message, Producer } from 'kafkajs'
import type { Registry } from 'prom-client'
import { ConsumerLagGauge } from '../../core/consumer-lag.js'
import { deadLetterHeaders, headerText } from '../../core/dead-letter.js'
import { ChurnError, ErrorCodes, errorMessage } from '../../core/errors.js'
import { createIdempotentProducer, nextOffset } from '../../core/kafka.js'
import type { Logger } from '../../core/logger.js'
import { RecordCounts, type UncommittedRecords } from '../../core/record-counts.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import type { TopicCatalog, TopicSpec } from '../../schemas/catalog.js'
import type { RoleDefinition, RunningRole } from '../runtime/context.js'
import { offlineSinkMetrics, type OfflineSinkMetrics } from './metrics.js'
import { parseOfflineSinkOptions, resolveOfflineSinkOptions, type OfflineSinkOptions, type OfflineSinkOptionsInput } from './options.js'
import { customerEventSource, featureSnapshotSource } from './sources.js'
import { insertJsonLines, TopicWriter } from './topic-writer.js'
import type { OfflineSinkState, SinkSource } from './types.js'

export const offlineSinkRoleName = 'offline-sink'

export interface OfflineSinkDependencies {
  kafka: Kafka
  registry: SchemaRegistry
  catalog: TopicCatalog
  /** The offline store. The sink uses it and never closes it. */
  client: ClickHouseClient
  logger: Logger
  /** Where the sink's metrics are registered. */
  metrics: Registry
}

interface Route {
  source: SinkSource
  writer: TopicWriter<string>
}

/**
 * Writes `customer.events` to `customer_events` and `customer.features` to `feature_snapshots`, in
 * batches, at least once. Offsets are committed (plain consumer group, read_committed) only after
 * the rows they cover are inserted, so a crash or a failed insert never loses a record; a record
 * consumed twice is written twice with the same (customer_id, src_topic, src_partition, src_offset),
 * and the ReplacingMergeTree tables collapse such duplicates. Queries read them with `FINAL` (or
 * `LIMIT 1 BY` that key) to see each record once before background merges have run.
 *
 * Kafka transactions would not help here: ClickHouse is outside them. Bad records go to the topic's
 * dead-letter topic and are counted; a slow or failing ClickHouse pauses fetching from the affected
 * topic until its inserts go through again.
 */
export class OfflineSink implements RunningRole {
  readonly name = offlineSinkRoleName
  readonly #deps: OfflineSinkDependencies
  readonly #options: OfflineSinkOptions
  readonly #logger: Logger
  readonly #metrics: OfflineSinkMetrics
  readonly #groupId: string
  readonly #consumer: Consumer
  readonly #producer: Producer
  readonly #routes = new Map<string, Route>()
  readonly #inflight = new Set<Promise<void>>()
  /** `churn_records_*_total` of batches taken, counted once their offsets are committed. */
  readonly #records: UncommittedRecords
  readonly #lag: ConsumerLagGauge
  #state: OfflineSinkState = 'idle'
  #accepting = false
  #closing: Promise<void> | undefined

  constructor(deps: OfflineSinkDependencies, options: OfflineSinkOptionsInput = {}) {
    this.#deps = deps
    this.#options = parseOfflineSinkOptions(options)
    this.#logger = deps.logger.child({ role: offlineSinkRoleName })
    this.#metrics = offlineSinkMetrics(deps.metrics)
    this.#groupId = this.#options.groupId ?? `${deps.catalog.prefix}churn-offline-sink`
    this.#consumer = deps.kafka.consumer({
      groupId: this.#groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: this.#options.maxBytesPerPartition,
      maxWaitTimeInMs: this.#options.maxWaitTimeMs,
    })
    this.#producer = createIdempotentProducer(deps.kafka)
    this.#records = new RecordCounts(deps.metrics, offlineSinkRoleName).uncommitted()
    this.#lag = new ConsumerLagGauge({ kafka: deps.kafka, consumer: this.#consumer, groupId: this.#groupId, registry: deps.metrics, logger: this.#logger })
    const sources: SinkSource[] = [
      customerEventSource(deps.registry, deps.catalog.customerEvents, offlineSinkRoleName),
      featureSnapshotSource(deps.registry, deps.catalog.customerFeatures, offlineSinkRoleName),
    ]
    for (const source of sources) this.#routes.set(source.topic.name, { source, writer: this.#createWriter(source) })
    this.#watchConsumer()
  }

  get state(): OfflineSinkState {
    return this.#state
  }

  get groupId(): string {
    return this.#groupId
  }

  /** Topics whose fetching is paused right now (ClickHouse failing, or too many rows pending). */
  get pausedTopics(): string[] {
    return [...this.#routes].filter(([, route]) => route.writer.paused).map(([topic]) => topic)
  }

  /** Migrates the offline store, joins the consumer group and starts consuming. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new ChurnError(ErrorCodes.CLOSED, `offline sink is ${this.#state}`)
    this.#state = 'starting'
    try {
      await migrate(this.#deps.client)
      await this.#producer.connect()
      await this.#consumer.connect()
      await this.#consumer.subscribe({ topics: [...this.#routes.keys()], fromBeginning: this.#options.fromBeginning })
      this.#accepting = true
      await this.#consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.#track(this.#onBatch(payload)),
      })
      this.#markRunning()
      this.#logger.info({ groupId: this.#groupId, topics: [...this.#routes.keys()] }, 'offline sink consuming')
    } catch (error) {
      this.#accepting = false
      for (const release of [() => this.#consumer.disconnect(), () => this.#producer.disconnect()]) {
        await release().catch((releaseError: unknown) => { this.#logger.warn({ err: releaseError }, 'releasing after a failed start failed') })
      }
      this.#state = 'stopped'
      throw error
    }
  }

  /**
   * Stops fetching, lets the batch in hand finish, inserts what is pending (for at most
   * `drainTimeoutMs`), commits, and disconnects. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  async #shutdown(): Promise<void> {
    // After a failed start there is nothing to drain: start() released the clients already.
    const consuming = this.#state === 'starting' || this.#state === 'running' || this.#state === 'failed'
    this.#state = 'draining'
    this.#accepting = false
    const failures: string[] = []
    const step = async (name: string, run: () => Promise<unknown>): Promise<void> => {
      try {
        await run()
      } catch (error) {
        failures.push(`${name}: ${errorMessage(error)}`)
      }
    }
    const topics = [...this.#routes.keys()].map((topic) => ({ topic }))
    const writers = [...this.#routes.values()].map((route) => route.writer)
    for (const writer of writers) writer.hold()
    if (consuming) {
      await step('pause fetching', () => {
        this.#consumer.pause(topics)
        return Promise.resolve()
      })
      await step('finish the batch in hand', () => Promise.allSettled([...this.#inflight]))
      const deadline = setTimeout(() => {
        for (const writer of writers) writer.abort()
      }, this.#options.drainTimeoutMs)
      await step('insert pending rows and commit', () => Promise.all(writers.map((writer) => writer.drain())))
      clearTimeout(deadline)
    }
    await step('disconnect consumer', () => this.#consumer.disconnect())
    await step('disconnect producer', () => this.#producer.disconnect())
    await step('stop reporting lag', () => this.#lag.close())
    this.#state = 'stopped'
    if (failures.length > 0) throw new ChurnError(ErrorCodes.CLOSED, `closing the offline sink: ${failures.join('; ')}`)
    this.#logger.info({ groupId: this.#groupId }, 'offline sink closed')
  }

  #markRunning(): void {
    // A writer may have failed for good while the group was being joined.
    if (this.#state === 'starting') this.#state = 'running'
  }

  #createWriter(source: SinkSource): TopicWriter<string> {
    const topic = source.topic.name
    return new TopicWriter<string>({
      topic,
      table: source.table.name,
      stage: offlineSinkRoleName,
      insert: (lines, signal) => insertJsonLines(this.#deps.client, source.table, lines, signal),
      options: this.#options,
      metrics: this.#metrics,
      logger: this.#logger,
      deadLetter: async (messages) => {
        await this.#sendDeadLetters(source.topic, messages)
        // Rows ClickHouse refused: counted with the batch they came in, when its offsets are committed.
        for (const message of messages) {
          const partition = Number(headerText(message.headers, deadLetterHeaders.sourcePartition))
          const offset = headerText(message.headers, deadLetterHeaders.sourceOffset) ?? '-1'
          this.#records.produced(topic, partition, offset, [{ topic: this.#deps.catalog.deadLetter(source.topic).name, messages: [message] }])
        }
      },
      commit: async (positions) => {
        await this.#consumer.commitOffsets(positions.map(({ partition, offset }) => ({ topic, partition, offset })))
        for (const { partition, offset } of positions) this.#records.committed(topic, partition, offset)
      },
      pause: () => {
        this.#consumer.pause([{ topic }])
      },
      resume: () => {
        this.#consumer.resume([{ topic }])
      },
      onFatal: () => {
        if (this.#state === 'running' || this.#state === 'starting') this.#state = 'failed'
      },
    })
  }

  #track(work: Promise<void>): Promise<void> {
    this.#inflight.add(work)
    return work.finally(() => this.#inflight.delete(work))
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    if (!this.#accepting || !payload.isRunning() || payload.isStale() || batch.isEmpty()) return
    const route = this.#routes.get(batch.topic)
    // A batch not taken is not resolved, so the partition's fetch position stays at its first record: the
    // topic is paused and that batch is fetched again on resume. (KafkaJS fetches at most one batch per
    // partition per request and fetches again only after every batch of the last one was handled.)
    if (!route?.writer.tryReserve(batch.messages.length)) return
    const { rows, deadLetters } = await route.source.decode(batch)
    // Bad records are in the dead-letter topic before the offsets past them can be committed.
    if (deadLetters.length > 0) await this.#sendDeadLetters(route.source.topic, deadLetters)
    this.#metrics.consumed.inc({ topic: batch.topic }, batch.messages.length)
    const end = nextOffset(batch.lastOffset())
    this.#records.consumed(batch.topic, batch.partition, end, batch.messages.length, [{ topic: this.#deps.catalog.deadLetter(route.source.topic).name, messages: deadLetters }])
    route.writer.accept(batch.partition, rows, end)
    payload.resolveOffset(batch.lastOffset())
    await payload.heartbeat()
  }

  async #sendDeadLetters(topic: TopicSpec, messages: Message[]): Promise<void> {
    await this.#producer.send({ topic: this.#deps.catalog.deadLetter(topic).name, acks: -1, messages })
    for (const message of messages) {
      this.#metrics.deadLettered.inc({ topic: topic.name, reason: headerText(message.headers, deadLetterHeaders.reason) ?? 'UNKNOWN' })
    }
  }

  #watchConsumer(): void {
    const { events } = this.#consumer
    // KafkaJS skips batches that hold only transaction markers or aborted records without calling
    // eachBatch; committing past them keeps the group's lag at zero on transactional topics.
    this.#consumer.on(events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || !this.#accepting) return
      this.#routes.get(payload.topic)?.writer.accept(payload.partition, [], nextOffset(payload.lastOffset))
    })
    this.#consumer.on(events.CRASH, ({ payload }) => {
      this.#logger.error({ err: payload.error, restart: payload.restart }, 'offline sink consumer crashed')
      if (!payload.restart && this.#state === 'running') this.#state = 'failed'
    })
  }
}

/** The `offline-sink` role of `churn run`: `OFFLINE_SINK_*` environment variables, then `options`, over the defaults. */
export function offlineSinkRole(options: OfflineSinkOptionsInput = {}): RoleDefinition {
  // Parsed here too, so that bad options fail when the role is declared rather than when it starts.
  parseOfflineSinkOptions(options)
  return {
    name: offlineSinkRoleName,
    description: 'Writes customer events and feature snapshots to the offline store (ClickHouse) in batches, at least once; duplicates collapse.',
    async start(context) {
      const resolved = resolveOfflineSinkOptions(context.config, options)
      const sink = new OfflineSink(
        { kafka: context.kafka, registry: context.registry, catalog: context.catalog, client: context.offline(), logger: context.logger, metrics: context.metrics },
        resolved,
      )
      await sink.start()
      return sink
    },
  }
}
