import { setTimeout as delay } from 'node:timers/promises'
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Kafka, Message, Producer } from 'kafkajs'
import { Counter, Histogram, type Registry } from 'prom-client'
import { ChurnError, ErrorCodes, errorMessage, isChurnError } from '../../core/errors.js'
import { createIdempotentProducer } from '../../core/kafka.js'
import type { Logger } from '../../core/logger.js'
import type { TopicSpec } from '../../schemas/catalog.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import { customerEventSchema, describeIssues, type CustomerEvent } from '../../schemas/events.js'
import { parsePublisherOptions, type PublisherOptions, type PublisherOptionsInput } from './options.js'
import { PublishTransportError, PublishValidationError, type PublishReceipt } from './types.js'

export interface EventPublisherDependencies {
  kafka: Kafka
  registry: SchemaRegistry
  /** The `customer.events` topic from the catalog. */
  topic: TopicSpec
  logger: Logger
  /** Where to register the publisher's metrics, if anywhere. */
  metrics?: Registry
}

interface Pending {
  event: CustomerEvent
  resolve: (receipt: PublishReceipt) => void
  reject: (error: Error) => void
}

interface PublisherMetrics {
  published: Counter<'topic'>
  failed: Counter<'topic' | 'kind'>
  batchSize: Histogram<'topic'>
}

function createMetrics(registry: Registry): PublisherMetrics {
  return {
    published: new Counter({ name: 'churn_publisher_events_total', help: 'Events acknowledged by all in-sync replicas.', labelNames: ['topic'], registers: [registry] }),
    failed: new Counter({ name: 'churn_publisher_failures_total', help: 'Events not published, by kind (validation, transport).', labelNames: ['topic', 'kind'], registers: [registry] }),
    batchSize: new Histogram({ name: 'churn_publisher_batch_size', help: 'Events per produce request.', labelNames: ['topic'], buckets: [1, 10, 50, 100, 250, 500, 1000, 5000], registers: [registry] }),
  }
}

/**
 * Publishes customer events: validates them against the contract, encodes them with the
 * registered Avro schema, keys them by customer, and sends them in short-lingering batches through
 * an idempotent producer. Each promise settles once: resolved when all in-sync replicas have the
 * event, rejected with a typed error that says whether a retry can help. Nothing is dropped silently.
 */
export class EventPublisher {
  readonly #deps: EventPublisherDependencies
  readonly #options: PublisherOptions
  readonly #codec: CustomerEventCodec
  readonly #schema: ReturnType<typeof customerEventSchema>
  readonly #producer: Producer
  readonly #metrics: PublisherMetrics | undefined
  #queue: Pending[] = []
  #timer: NodeJS.Timeout | undefined
  #sending: Promise<void> = Promise.resolve()
  #connected: Promise<void> | undefined
  #closing: Promise<void> | undefined
  #roomWaiters: (() => void)[] = []

  constructor(deps: EventPublisherDependencies, options: PublisherOptionsInput = {}) {
    this.#deps = deps
    this.#options = parsePublisherOptions(options)
    this.#codec = new CustomerEventCodec(deps.registry, deps.topic, { maxClockSkewMs: this.#options.maxClockSkewMs })
    this.#schema = customerEventSchema({ maxClockSkewMs: this.#options.maxClockSkewMs })
    this.#producer = createIdempotentProducer(deps.kafka, { retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 } })
    this.#metrics = deps.metrics === undefined ? undefined : createMetrics(deps.metrics)
  }

  /** Validates one event (JSON-shaped input) without publishing it. */
  validate(input: unknown): CustomerEvent {
    const parsed = this.#schema.safeParse(input)
    if (!parsed.success) throw new PublishValidationError(describeIssues(parsed.error).split('; '))
    return parsed.data
  }

  async publish(input: unknown): Promise<PublishReceipt> {
    this.#assertOpen()
    let event: CustomerEvent
    try {
      event = this.validate(input)
    } catch (error) {
      this.#metrics?.failed.inc({ topic: this.#deps.topic.name, kind: 'validation' })
      throw error
    }
    await this.#waitForRoom()
    return new Promise<PublishReceipt>((resolve, reject) => {
      this.#queue.push({ event, resolve, reject })
      this.#schedule()
    })
  }

  /** Publishes all events or none: any invalid event rejects the batch before anything is sent. */
  async publishBatch(inputs: readonly unknown[]): Promise<PublishReceipt[]> {
    this.#assertOpen()
    const events: CustomerEvent[] = []
    const problems: string[] = []
    inputs.forEach((input, index) => {
      try {
        events.push(this.validate(input))
      } catch (error) {
        const details = error instanceof PublishValidationError ? error.problems : [errorMessage(error)]
        problems.push(...details.map((problem) => `[${index}] ${problem}`))
      }
    })
    if (problems.length > 0) {
      this.#metrics?.failed.inc({ topic: this.#deps.topic.name, kind: 'validation' }, inputs.length)
      throw new PublishValidationError(problems)
    }
    await this.#waitForRoom()
    const receipts = events.map(
      (event) =>
        new Promise<PublishReceipt>((resolve, reject) => {
          this.#queue.push({ event, resolve, reject })
        }),
    )
    this.#schedule()
    return Promise.all(receipts)
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new ChurnError(ErrorCodes.CLOSED, 'publisher is closed')
  }

  async #waitForRoom(): Promise<void> {
    while (this.#queue.length >= this.#options.maxQueued) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve))
    }
  }

  #schedule(): void {
    if (this.#queue.length >= this.#options.maxBatchSize) {
      this.#flushSoon(0)
    } else {
      this.#flushSoon(this.#options.lingerMs)
    }
  }

  #flushSoon(afterMs: number): void {
    if (this.#timer !== undefined) {
      if (afterMs > 0) return
      clearTimeout(this.#timer)
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#sending = this.#sending.then(() => this.#drain())
    }, afterMs)
  }

  /** Sends everything queued, batch after batch; only one produce request is in flight. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.maxBatchSize)
      for (const wake of this.#roomWaiters.splice(0)) wake()
      await this.#send(batch)
    }
  }

  async #send(batch: Pending[]): Promise<void> {
    try {
      await this.#connect()
      await this.#codec.schemaId()
      const messages: Message[] = batch.map(({ event }) => ({
        key: event.customer_id,
        value: this.#codec.encode(event),
        headers: { 'churn.event_type': event.type },
      }))
      await this.#sendWithRetries(messages)
      this.#metrics?.published.inc({ topic: this.#deps.topic.name }, batch.length)
      this.#metrics?.batchSize.observe({ topic: this.#deps.topic.name }, batch.length)
      for (const pending of batch) pending.resolve({ event_id: pending.event.event_id, customer_id: pending.event.customer_id })
    } catch (error) {
      this.#metrics?.failed.inc({ topic: this.#deps.topic.name, kind: 'transport' }, batch.length)
      const failure =
        error instanceof PublishTransportError
          ? error
          : new PublishTransportError(`publishing ${batch.length} events failed: ${errorMessage(error)}`, isChurnError(error) ? error.canRetry : true, error)
      this.#deps.logger.error({ err: failure, events: batch.length }, 'publish failed')
      for (const pending of batch) pending.reject(failure)
    }
  }

  async #sendWithRetries(messages: Message[]): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.#producer.send({ topic: this.#deps.topic.name, acks: -1, messages })
        return
      } catch (error) {
        const retriable = isRetriable(error)
        if (!retriable || attempt >= this.#options.maxRetries || this.#closing !== undefined) {
          throw new PublishTransportError(
            `publishing ${messages.length} events to ${this.#deps.topic.name} failed after ${attempt + 1} attempt(s): ${errorMessage(error)}`,
            retriable,
            error,
          )
        }
        const ceiling = Math.min(this.#options.maxRetryMs, this.#options.initialRetryMs * 2 ** attempt)
        const wait = Math.round(Math.random() * ceiling)
        this.#deps.logger.warn({ attempt: attempt + 1, waitMs: wait, err: error }, 'publish failed, retrying')
        await delay(wait)
      }
    }
  }

  #connect(): Promise<void> {
    this.#connected ??= this.#producer.connect().catch((error: unknown) => {
      this.#connected = undefined
      throw new PublishTransportError(`cannot connect to Kafka: ${errorMessage(error)}`, true, error)
    })
    return this.#connected
  }

  /** Sends what is queued, waits for every outstanding event to settle, disconnects. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer)
        this.#timer = undefined
      }
      this.#sending = this.#sending.then(() => this.#drain())
      await this.#sending
      if (this.#connected !== undefined) await this.#producer.disconnect()
    })()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}

function isRetriable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const candidate = error as { retriable?: boolean; name?: string; cause?: unknown }
  if (candidate.retriable === true) return true
  // KafkaJS wraps the last attempt's error once its own retries are exhausted.
  if (candidate.name === 'KafkaJSNumberOfRetriesExceeded' || candidate.name === 'KafkaJSConnectionError' || candidate.name === 'KafkaJSRequestTimeoutError') return true
  return false
}
