import type { Batch, KafkaMessage, Message } from 'kafkajs'
import { Counter, Histogram } from 'prom-client'
import { deadLetterMessage } from '../../core/dead-letter.js'
import { TransactionalPipeline, type BatchOutput } from '../../core/kafka.js'
import { metricsOnce } from '../../core/metrics.js'
import type { CustomerState, FeatureSet } from '../../feature-store/feature-set.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import { OnlineStore, type StateWrite, type StoredCustomer } from '../../feature-store/online/online-store.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import type { CustomerEvent } from '../../schemas/events.js'
import type { RoleContext, RunningRole } from '../runtime/context.js'
import { ingestOptionsSchema, type IngestOptionsInput } from './options.js'

export interface IngestMetrics {
  events: Counter<'outcome'>
  changelog: Counter
  committed: Counter
  batchSeconds: Histogram
  storeSeconds: Histogram<'operation'>
  storeErrors: Counter<'operation'>
  stateResets: Counter
}

const ingestMetrics = metricsOnce((registers): IngestMetrics => ({
    events: new Counter({ name: 'churn_ingest_events_total', help: 'Customer events by outcome: applied, late, replayed (already applied), dead_lettered.', labelNames: ['outcome'], registers }),
    changelog: new Counter({ name: 'churn_ingest_changelog_records_total', help: 'Feature vectors emitted to customer.features.', registers }),
    committed: new Counter({ name: 'churn_ingest_committed_records_total', help: 'Customer events whose transaction (changelog records and consumed offsets) committed.', registers }),
    batchSeconds: new Histogram({ name: 'churn_ingest_batch_duration_seconds', help: 'Time to turn a batch into state writes and changelog records.', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers }),
    storeSeconds: new Histogram({ name: 'churn_online_store_operation_duration_seconds', help: 'Redis operations of the online store.', labelNames: ['operation'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25], registers }),
    storeErrors: new Counter({ name: 'churn_online_store_errors_total', help: 'Redis operations of the online store that failed (the batch is aborted and consumed again).', labelNames: ['operation'], registers }),
    stateResets: new Counter({ name: 'churn_ingest_state_resets_total', help: 'Customer states dropped because they were built by another feature-set version.', registers }),
}))

/** One customer's progress through a batch. */
interface CustomerWork {
  id: string
  state: CustomerState
  /** The state came from the store (not new, not reset for another feature-set version). */
  resumed: boolean
  /** The last offset of the partition already in the stored state (-1: none). */
  storedOffset: number
  lastOffset: number
  applied: number
  /** Events replayed (already in the stored state) that were not late. */
  replayedApplied: number
  changed: boolean
}

/**
 * Turns one batch of `customer.events` into online-store writes, changelog records and dead letters.
 * Events already applied (a replay after a crash) are skipped by offset and their vector re-emitted,
 * so the changelog is the same as without the crash. The returned records must not be committed
 * before `beforeCommit`, the Redis write, has succeeded.
 */
export async function ingestBatch(
  batch: Batch,
  deps: { codec: CustomerEventCodec; features: AvroCodec; featureSet: FeatureSet; store: OnlineStore; catalog: RoleContext['catalog']; metrics?: IngestMetrics },
): Promise<BatchOutput> {
  const { codec, features, featureSet, store, catalog, metrics } = deps
  const { topic, partition, messages } = batch
  // Records are keyed by customer id, so states are read before decoding and each event is applied as
  // it is decoded, never kept. Customers whose records carry another key are read afterwards.
  const stored = new Map<string, StoredCustomer>()
  const read = async (ids: string[]): Promise<void> => {
    const timer = metrics?.storeSeconds.startTimer({ operation: 'read_states' })
    const states = await store.readStates(ids, partition).catch((error: unknown) => {
      metrics?.storeErrors.inc({ operation: 'read_states' })
      throw error
    })
    timer?.()
    ids.forEach((id, i) => stored.set(id, states[i] ?? { state: undefined, offset: -1 }))
  }
  const keys = new Set<string>()
  for (const message of messages) if (message.key !== null) keys.add(message.key.toString())
  await read([...keys])

  const work = new Map<string, CustomerWork>()
  const deadLetters: Message[] = []
  const late: { message: KafkaMessage; event: CustomerEvent }[] = []
  let replayedEvents = 0
  let resets = 0
  const begin = (id: string): CustomerWork => {
    const previous = stored.get(id)
    const state = previous?.state === undefined ? undefined : featureSet.decodeState(previous.state)
    if (previous?.state !== undefined && state === undefined) resets += 1
    const storedOffset = previous?.offset ?? -1
    const customer = { id, state: state ?? featureSet.emptyState(), resumed: state !== undefined, storedOffset, lastOffset: storedOffset, applied: 0, replayedApplied: 0, changed: false }
    work.set(id, customer)
    return customer
  }
  // One source for every row of the batch: eventRow copies its fields.
  const source = { topic, partition, offset: '' }
  const applyEvent = (customer: CustomerWork, event: CustomerEvent, message: KafkaMessage): void => {
    const { state } = customer
    const arrival = Number(message.offset)
    customer.lastOffset = Math.max(customer.lastOffset, arrival)
    if (arrival <= customer.storedOffset) {
      // Already in the stored state: a replay. Late ones are refused again so the dead-letter topic matches.
      replayedEvents += 1
      if (state.late.includes(arrival)) late.push({ message, event })
      else customer.replayedApplied += 1
      return
    }
    customer.changed = true
    source.offset = message.offset
    if (featureSet.apply(state, eventRow(event, source), arrival) === 'late') late.push({ message, event })
    else customer.applied += 1
  }
  const unread: { event: CustomerEvent; message: KafkaMessage }[] = []
  for (const message of messages) {
    const outcome = codec.decodeKnown(message.value) ?? (await codec.decode(message.value))
    if (!outcome.ok) {
      deadLetters.push(deadLetterMessage(message, { topic, partition, reason: outcome.reason, error: outcome.message, stage: 'ingest' }))
      continue
    }
    const event = outcome.value
    const customer = work.get(event.customer_id) ?? (stored.has(event.customer_id) ? begin(event.customer_id) : undefined)
    if (customer === undefined) unread.push({ event, message })
    else applyEvent(customer, event, message)
  }
  if (unread.length > 0) {
    await read([...new Set(unread.map(({ event }) => event.customer_id))])
    for (const { event, message } of unread) applyEvent(work.get(event.customer_id) ?? begin(event.customer_id), event, message)
  }
  const decodeFailures = deadLetters.length
  for (const { message, event } of late) {
    deadLetters.push(deadLetterMessage(message, {
      topic,
      partition,
      reason: 'LATE_EVENT',
      error: `event time ${new Date(event.event_time).toISOString()} is more than ${featureSet.allowedLatenessMs} ms older than the newest event applied for customer ${event.customer_id}`,
      stage: 'ingest',
    }))
  }

  await features.schemaId()
  const writes: StateWrite[] = []
  const changelog: Message[] = []
  const now = Date.now()
  const emit = (customerId: string, values: number[], asOf: number, offset: number): void => {
    changelog.push({
      key: customerId,
      value: features.encode({ customer_id: customerId, feature_set_version: featureSet.version, values, newest_event_time: asOf, computed_at: now, source_partition: partition, source_offset: offset }),
    })
  }
  let appliedEvents = 0
  for (const customer of work.values()) {
    const { id, state, lastOffset } = customer
    appliedEvents += customer.applied
    if (customer.applied > 0) {
      const vector = featureSet.materializeValues(state)
      writes.push({ customerId: id, partition, offset: lastOffset, state, vector })
      emit(id, vector, state.newest ?? 0, lastOffset)
    } else if (customer.changed) {
      writes.push({ customerId: id, partition, offset: lastOffset, state, vector: undefined })
    } else if (customer.replayedApplied > 0 && customer.resumed) {
      // The stored vector is the stored state's: late events, the only ones not in it, change no feature.
      emit(id, featureSet.materializeValues(state), state.newest ?? 0, customer.storedOffset)
    }
  }
  const writeTimer = metrics?.storeSeconds.startTimer({ operation: 'write_states' })
  // The changelog is sent while Redis writes; the transaction commits only once both are done.
  const written = store.writeStates(writes, featureSet.version).then(
    () => writeTimer?.(),
    (error: unknown) => {
      metrics?.storeErrors.inc({ operation: 'write_states' })
      throw error
    },
  )
  if (metrics !== undefined) {
    metrics.events.inc({ outcome: 'dead_lettered' }, decodeFailures)
    metrics.events.inc({ outcome: 'applied' }, appliedEvents)
    metrics.events.inc({ outcome: 'late' }, late.length)
    metrics.events.inc({ outcome: 'replayed' }, replayedEvents)
    metrics.stateResets.inc(resets)
    metrics.changelog.inc(changelog.length)
  }
  return {
    records: [
      { topic: catalog.customerFeatures.name, messages: changelog },
      { topic: catalog.deadLetter(catalog.customerEvents).name, messages: deadLetters },
    ],
    beforeCommit: written,
  }
}

/** The `ingest` role: customer.events -> Redis online store + customer.features, exactly once for read_committed readers. */
export async function startIngest(context: RoleContext, featureSet: FeatureSet, input: IngestOptionsInput = {}): Promise<RunningRole> {
  const options = ingestOptionsSchema.parse(input)
  const redis = await context.redis()
  const store = new OnlineStore(redis, { keyPrefix: options.keyPrefix })
  const metrics = ingestMetrics(context.metrics)
  const codec = new CustomerEventCodec(context.registry, context.catalog.customerEvents)
  const features = new AvroCodec(context.registry, loadSchema('featureVector'), `${context.catalog.customerFeatures.name}-value`)
  const pipeline = new TransactionalPipeline({
    kafka: context.kafka,
    logger: context.logger.child({ role: 'ingest' }),
    groupId: options.groupId,
    // One producer per input partition, whichever instance owns it: its next owner fences it.
    transactionalId: options.groupId,
    producerScope: 'partition',
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
    topics: [context.catalog.customerEvents.name],
    maxBytesPerPartition: options.maxBytesPerPartition,
    sessionTimeout: options.sessionTimeoutMs,
    metrics: { registry: context.metrics, role: 'ingest' },
    transform: async (batch) => {
      const timer = metrics.batchSeconds.startTimer()
      try {
        return await ingestBatch(batch, { codec, features, featureSet, store, catalog: context.catalog, metrics })
      } finally {
        timer()
      }
    },
    onCommitted: ({ records }) => {
      metrics.committed.inc(records)
    },
  })
  await pipeline.start()
  return { name: 'ingest', close: () => pipeline.close() }
}
