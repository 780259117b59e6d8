import type { TopicMessages } from 'kafkajs'
import { Counter, type Registry } from 'prom-client'
import { deadLetterHeaders, headerText } from './dead-letter.js'
import { metricsOnce } from './metrics.js'

const recordMetrics = metricsOnce((registers) => ({
  consumed: new Counter({
    name: 'churn_records_consumed_total',
    help: 'Records consumed whose offsets are committed (with the transaction holding what they produced, or once what they produced is written), by role and source topic.',
    labelNames: ['role', 'topic'],
    registers,
  }),
  produced: new Counter({
    name: 'churn_records_produced_total',
    help: 'Records produced for consumed records and committed with their offsets, by role and destination topic (dead-letter topics included).',
    labelNames: ['role', 'topic'],
    registers,
  }),
  deadLettered: new Counter({
    name: 'churn_records_dead_lettered_total',
    help: 'Consumed records sent to a dead-letter topic and committed, by role, source topic and the reason header of the dead letter.',
    labelNames: ['role', 'topic', 'reason'],
    registers,
  }),
}))

/** What a batch of one source topic consumed and produced, before it is counted. */
interface Tally {
  consumed: number
  /** Records per destination topic. */
  produced: Map<string, number>
  /** Dead letters per reason. */
  deadLettered: Map<string, number>
}

function emptyTally(): Tally {
  return { consumed: 0, produced: new Map(), deadLettered: new Map() }
}

function addOutput(tally: Tally, output: readonly TopicMessages[]): void {
  for (const { topic, messages } of output) {
    if (messages.length === 0) continue
    tally.produced.set(topic, (tally.produced.get(topic) ?? 0) + messages.length)
    for (const message of messages) {
      // Only dead letters carry headers among what the roles produce; the check costs nothing for the rest.
      if (message.headers === undefined) continue
      const reason = headerText(message.headers, deadLetterHeaders.reason)
      if (reason !== undefined) tally.deadLettered.set(reason, (tally.deadLettered.get(reason) ?? 0) + 1)
    }
  }
}

/**
 * A role's `churn_records_*_total` counters. Records are counted once their offsets are committed, so the
 * counters reconcile with the group's committed offsets and with what the output topics hold for
 * read_committed readers; a batch that is consumed again after an abort or a crash counts once.
 */
export class RecordCounts {
  readonly #metrics: ReturnType<typeof recordMetrics>
  readonly #role: string

  constructor(registry: Registry, role: string) {
    this.#metrics = recordMetrics(registry)
    this.#role = role
  }

  /** Counts `consumed` records of `topic` whose offsets are committed, and what they produced (dead letters by their reason header). */
  committed(topic: string, consumed: number, output: readonly TopicMessages[] = []): void {
    const tally = emptyTally()
    tally.consumed = consumed
    addOutput(tally, output)
    this.#count(topic, tally)
  }

  #count(topic: string, tally: Tally): void {
    const role = this.#role
    if (tally.consumed > 0) this.#metrics.consumed.inc({ role, topic }, tally.consumed)
    for (const [destination, count] of tally.produced) this.#metrics.produced.inc({ role, topic: destination }, count)
    for (const [reason, count] of tally.deadLettered) this.#metrics.deadLettered.inc({ role, topic, reason }, count)
  }

  /** Counts for a consumer that commits some time after a batch is consumed (at-least-once roles). */
  uncommitted(): UncommittedRecords {
    return new UncommittedRecords((topic, tally) => { this.#count(topic, tally) })
  }
}

interface Held {
  /** The partition's commit position once this batch is done: the offset after its last record. */
  end: bigint
  tally: Tally
}

/**
 * Batches consumed and not yet committed, per partition: their counts wait for a commit that reaches them,
 * and are dropped with the batch when it never is (it is consumed again, by this or another instance).
 */
export class UncommittedRecords {
  readonly #count: (topic: string, tally: Tally) => void
  readonly #held = new Map<string, { topic: string; batches: Held[] }>()

  constructor(count: (topic: string, tally: Tally) => void) {
    this.#count = count
  }

  /** A consumed batch whose offsets are committed later; `end` is the position after its last record. */
  consumed(topic: string, partition: number, end: string, consumed: number, output: readonly TopicMessages[] = []): void {
    const tally = emptyTally()
    tally.consumed = consumed
    addOutput(tally, output)
    const key = `${topic}|${partition}`
    let entry = this.#held.get(key)
    if (entry === undefined) {
      entry = { topic, batches: [] }
      this.#held.set(key, entry)
    }
    entry.batches.push({ end: BigInt(end), tally })
  }

  /**
   * Records produced later for the consumed record at `offset` (such as rows a store refused), counted with its
   * batch; at once when no held batch covers it.
   */
  produced(topic: string, partition: number, offset: string, output: readonly TopicMessages[]): void {
    const position = BigInt(offset)
    const batch = this.#held.get(`${topic}|${partition}`)?.batches.find((held) => held.end > position)
    if (batch !== undefined) {
      addOutput(batch.tally, output)
      return
    }
    const tally = emptyTally()
    addOutput(tally, output)
    this.#count(topic, tally)
  }

  /** Counts every held batch of the partition that the committed position `offset` covers. */
  committed(topic: string, partition: number, offset: string): void {
    const entry = this.#held.get(`${topic}|${partition}`)
    if (entry === undefined) return
    const position = BigInt(offset)
    const remaining: Held[] = []
    for (const held of entry.batches) {
      if (held.end <= position) this.#count(topic, held.tally)
      else remaining.push(held)
    }
    entry.batches = remaining
  }
}
