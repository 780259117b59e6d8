import type { Kafka, Message } from 'kafkajs'
import { ChurnError, ErrorCodes } from '../../core/errors.js'
import { createIdempotentProducer } from '../../core/kafka.js'
import type { Logger } from '../../core/logger.js'

export interface StoredState {
  /** The snapshot's JSON text. */
  readonly text: string
  readonly offset: string
}

export interface ReadStateOptions {
  readonly kafka: Kafka
  readonly logger: Logger
  /** `churn.drift.state`: compacted, one partition. */
  readonly topic: string
  /** Key of this role's snapshots: its consumer group id. */
  readonly key: string
  /** Transactional id of the role's producer, fenced before reading. */
  readonly transactionalId: string
  /** Group of the reading consumer, which never commits. */
  readonly readerGroupId: string
  readonly timeoutMs: number
}

/** The record that stores a snapshot; produced in the transaction that commits the offsets it was taken at. */
export function stateMessage(key: string, text: string): Message {
  return { key, value: Buffer.from(text, 'utf8') }
}

/**
 * Initialises the transactional id and aborts an empty transaction: the broker then aborts whatever transaction a
 * crashed predecessor left open (KafkaJS initialises the id on the first transaction, not on connect). Afterwards the
 * state topic's end holds no undecided records, so a read_committed reader can reach it.
 */
async function fence(kafka: Kafka, transactionalId: string): Promise<void> {
  const producer = createIdempotentProducer(kafka, { transactionalId, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    const transaction = await producer.transaction()
    await transaction.abort()
  } finally {
    await producer.disconnect()
  }
}

async function endOffset(kafka: Kafka, topic: string): Promise<bigint | undefined> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new ChurnError(ErrorCodes.CONFIG_INVALID, `the drift state topic ${topic} does not exist: create it with \`churn topics apply\``)
    }
    const [partition] = await admin.fetchTopicOffsets(topic)
    if (partition === undefined || BigInt(partition.high) <= BigInt(partition.low)) return undefined
    return BigInt(partition.high)
  } finally {
    await admin.disconnect()
  }
}

/**
 * The newest committed snapshot under `key`, read read_committed from the beginning of the state topic to its end;
 * undefined when there is none. Snapshots of aborted transactions (a crash between produce and commit) are invisible,
 * so the snapshot returned is the one committed with the group's offsets. Throws `TIMEOUT` when the end is not reached
 * in time: starting without the state would count records twice.
 */
export async function readLatestState(options: ReadStateOptions): Promise<StoredState | undefined> {
  const { kafka, topic, key, logger } = options
  await fence(kafka, options.transactionalId)
  const end = await endOffset(kafka, topic)
  if (end === undefined) return undefined
  const consumer = kafka.consumer({
    groupId: options.readerGroupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    // Whole snapshots per fetch (the broker returns at least one record batch anyway).
    maxBytesPerPartition: 32 * 1024 * 1024,
  })
  let latest: StoredState | undefined
  let reached: () => void = () => undefined
  const done = new Promise<void>((resolve) => { reached = resolve })
  // Emitted for every fetched batch, also one of only commit markers or aborted records, which eachBatch never sees.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (BigInt(payload.lastOffset) + 1n >= end) reached()
  })
  let timer: NodeJS.Timeout | undefined
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) {
          if (message.key?.toString() !== key) continue
          latest = message.value === null ? undefined : { text: message.value.toString('utf8'), offset: message.offset }
        }
        return Promise.resolve()
      },
    })
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => { resolve('timeout') }, options.timeoutMs) })
    if ((await Promise.race([done, timedOut])) === 'timeout') {
      throw new ChurnError(ErrorCodes.TIMEOUT, `drift state: ${topic} not read to offset ${end} within ${options.timeoutMs} ms`, { canRetry: true })
    }
  } finally {
    clearTimeout(timer)
    await consumer.disconnect()
  }
  logger.info({ topic, offset: latest?.offset, bytes: latest?.text.length }, latest === undefined ? 'no drift state stored' : 'drift state read')
  return latest
}
