import { randomUUID } from 'node:crypto'
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs'
import { ChurnError, ErrorCodes, errorMessage } from '../core/errors.js'
import type { RoleContext } from '../consumers/runtime/context.js'
import { loadSchema } from '../schemas/avro.js'
import type { TopicCatalog } from '../schemas/catalog.js'
import { AvroCodec } from '../schemas/codec.js'

/** Where the registry's aliases point, as the newest model event says. */
export interface RegistryState {
  champion?: string
  previousChampion?: string
  challenger?: string
  baseline?: string
  /** Time of the transition that produced this state. */
  at: number
}

interface ModelEventRecord {
  version: string
  transition: string
  at: number
  state: { champion: string | null; previous_champion: string | null; challenger: string | null; baseline: string | null } | null
}

interface ModelArtifactRecord {
  version: string
  bytes: Buffer
}

function registryState(state: NonNullable<ModelEventRecord['state']>, at: number): RegistryState {
  const out: RegistryState = { at }
  if (state.champion !== null) out.champion = state.champion
  if (state.previous_champion !== null) out.previousChampion = state.previous_champion
  if (state.challenger !== null) out.challenger = state.challenger
  if (state.baseline !== null) out.baseline = state.baseline
  return out
}

/** The state after `event`: the event's, unless it carries none or is older than `current`'s. */
function stateAfter(current: RegistryState | undefined, event: ModelEventRecord): RegistryState | undefined {
  if (event.state === null) return current // written before events carried the alias state
  if (current !== undefined && event.at < current.at) return current
  return registryState(event.state, event.at)
}

/**
 * The registry's state as `churn.model.events` says it now, read once from the beginning to the end of the topic
 * (the artifacts are not read); undefined when the topic does not exist or no event carries a state. For tools
 * that look once: roles follow the log with `ModelLog`.
 */
export async function readRegistryState(options: { kafka: Kafka; registry: SchemaRegistry; catalog: TopicCatalog; timeoutMs?: number }): Promise<RegistryState | undefined> {
  const { kafka, catalog } = options
  const topic = catalog.modelEvents.name
  const codec = new AvroCodec(options.registry, loadSchema('modelEvent'), `${topic}-value`)
  const groupId = `${catalog.prefix}churn-registry-state-${randomUUID().slice(0, 8)}`
  const admin = kafka.admin()
  await admin.connect()
  try {
    if (!(await admin.listTopics()).includes(topic)) return undefined
    const remaining = new Map<number, bigint>()
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high))
    }
    if (remaining.size === 0) return undefined
    let state: RegistryState | undefined
    let unreadable: string | undefined
    let reached: () => void = () => undefined
    const done = new Promise<void>((resolve) => { reached = resolve })
    const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false })
    // Emitted for every fetched batch, also one of only commit markers, which eachBatch never sees.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const high = remaining.get(payload.partition)
      if (high !== undefined && BigInt(payload.lastOffset) + 1n >= high) remaining.delete(payload.partition)
      if (remaining.size === 0) reached()
    })
    let timer: NodeJS.Timeout | undefined
    try {
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            const outcome = await codec.decode(message.value)
            if (outcome.ok) state = stateAfter(state, outcome.value as ModelEventRecord)
            else unreadable = outcome.message
          }
        },
      })
      const timeoutMs = options.timeoutMs ?? 10_000
      const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => { resolve('timeout') }, timeoutMs) })
      if ((await Promise.race([done, timedOut])) === 'timeout') throw new ChurnError(ErrorCodes.TIMEOUT, `${topic} not read to its end within ${timeoutMs} ms`, { canRetry: true })
    } finally {
      clearTimeout(timer)
      await consumer.disconnect()
    }
    // "No champion" must not be said of a log that could not be read (the schema registry is down, say).
    if (state === undefined && unreadable !== undefined) throw new ChurnError(ErrorCodes.VALIDATION, `${topic}: ${unreadable}`)
    return state
  } finally {
    // The reader committed nothing; its group is gone at once rather than after the broker's retention.
    await admin.deleteGroups([groupId]).catch(() => undefined)
    await admin.disconnect()
  }
}

/**
 * Follows `churn.model.events` and `churn.model.artifacts` from the beginning (both compacted): the
 * newest event gives every alias, and artifacts arrive before the events that name them. Scorers and
 * the gateway learn of models this way without reaching the offline store. Offsets are never
 * committed: every process reads the whole (small) log.
 */
export class ModelLog {
  readonly #context: RoleContext
  readonly #consumer: Consumer
  readonly #events: AvroCodec
  readonly #artifacts: AvroCodec
  readonly #listeners = new Set<() => void>()
  readonly #bytes = new Map<string, Uint8Array>()
  #state: RegistryState | undefined
  #started: Promise<void> | undefined

  constructor(context: RoleContext) {
    this.#context = context
    this.#events = new AvroCodec(context.registry, loadSchema('modelEvent'), `${context.catalog.modelEvents.name}-value`)
    this.#artifacts = new AvroCodec(context.registry, loadSchema('modelArtifact'), `${context.catalog.modelArtifacts.name}-value`)
    this.#consumer = context.kafka.consumer({
      groupId: `${context.catalog.prefix}churn-model-log-${context.instanceId}`,
      allowAutoTopicCreation: false,
      // Artifacts are megabytes: fetch whole records.
      maxBytesPerPartition: 64 * 1024 * 1024,
    })
  }

  get state(): RegistryState | undefined {
    return this.#state
  }

  artifact(version: string): Uint8Array | undefined {
    return this.#bytes.get(version)
  }

  /** Called after each event or artifact that may change what should be loaded. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Starts following; resolves once the log is read up to where it stood at the call (or after `catchUpMs`). */
  start(catchUpMs = 30_000): Promise<void> {
    this.#started ??= this.#start(catchUpMs)
    return this.#started
  }

  async #start(catchUpMs: number): Promise<void> {
    const { catalog, kafka, logger } = this.#context
    const topics = [catalog.modelEvents.name, catalog.modelArtifacts.name]
    const admin = kafka.admin()
    await admin.connect()
    const remaining = new Map<string, bigint>()
    try {
      for (const topic of topics) {
        for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
          if (BigInt(high) > BigInt(low)) remaining.set(`${topic}:${partition}`, BigInt(high))
        }
      }
    } finally {
      await admin.disconnect()
    }
    let caughtUp: () => void = () => undefined
    const ready = new Promise<void>((resolve) => {
      caughtUp = resolve
      if (remaining.size === 0) resolve()
    })
    await this.#consumer.connect()
    await this.#consumer.subscribe({ topics, fromBeginning: true })
    await this.#consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        await this.#take(topic, message)
        const key = `${topic}:${partition}`
        const high = remaining.get(key)
        if (high !== undefined && BigInt(message.offset) + 1n >= high) {
          remaining.delete(key)
          if (remaining.size === 0) caughtUp()
        }
      },
    })
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        logger.warn({ waitingFor: [...remaining.keys()] }, 'model log not caught up in time; starting with what was read')
        resolve()
      }, catchUpMs)
    })
    await Promise.race([ready, timedOut])
    clearTimeout(timer)
  }

  async #take(topic: string, message: KafkaMessage): Promise<void> {
    const { catalog, logger } = this.#context
    const isEvent = topic === catalog.modelEvents.name
    const outcome = await (isEvent ? this.#events : this.#artifacts).decode(message.value)
    if (!outcome.ok) {
      logger.error({ topic, offset: message.offset, reason: outcome.reason }, `unreadable model log record skipped: ${outcome.message}`)
      return
    }
    if (isEvent) {
      const event = outcome.value as ModelEventRecord
      const next = stateAfter(this.#state, event)
      if (next === this.#state) return
      this.#state = next
      if (event.transition === 'rejected') this.#bytes.delete(event.version)
    } else {
      const artifact = outcome.value as ModelArtifactRecord
      this.#bytes.set(artifact.version, new Uint8Array(artifact.bytes))
    }
    for (const listener of this.#listeners) {
      try {
        listener()
      } catch (error) {
        logger.error({ err: error }, `model log listener failed: ${errorMessage(error)}`)
      }
    }
  }

  #closing: Promise<void> | undefined

  /** Stops following; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#consumer.disconnect()
    return this.#closing
  }
}

const shared = new WeakMap<RoleContext, { log: ModelLog; users: number }>()

/**
 * The process's model log, shared by the roles that score; each caller releases it when it stops,
 * and the last release stops following.
 */
export function acquireModelLog(context: RoleContext): { log: ModelLog; release: () => Promise<void> } {
  let entry = shared.get(context)
  if (entry === undefined) {
    entry = { log: new ModelLog(context), users: 0 }
    shared.set(context, entry)
  }
  entry.users += 1
  const held = entry
  let released = false
  return {
    log: held.log,
    release: async () => {
      if (released) return
      released = true
      held.users -= 1
      if (held.users > 0) return
      if (shared.get(context) === held) shared.delete(context)
      await held.log.close()
    },
  }
}
