import type { Batch, Message, TopicMessages } from 'kafkajs'
import { Counter, Histogram } from 'prom-client'
import { deadLetterMessage } from '../../core/dead-letter.js'
import { TransactionalPipeline } from '../../core/kafka.js'
import type { FeatureSet } from '../../feature-store/feature-set.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import { OnlineStore, decodeVector, type StateWrite } from '../../feature-store/online/online-store.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import { decodeEventBatch, type DecodedEvent } from '../event-decoding.js'
import type { RoleContext, RunningRole } from '../runtime/context.js'
import { ingestOptionsSchema, type IngestOptionsInput } from './options.js'

export interface IngestMetrics {
  events: Counter<'outcome'>
  changelog: Counter
  batchSeconds: Histogram
  storeSeconds: Histogram<'operation'>
  stateResets: Counter
}

function createMetrics(context: RoleContext): IngestMetrics {
  const registers = [context.metrics]
  return {
    events: new Counter({ name: 'churn_ingest_events_total', help: 'Customer events by outcome: applied, late, replayed (already applied), dead_lettered.', labelNames: ['outcome'], registers }),
    changelog: new Counter({ name: 'churn_ingest_changelog_records_total', help: 'Feature vectors emitted to customer.features.', registers }),
    batchSeconds: new Histogram({ name: 'churn_ingest_batch_duration_seconds', help: 'Time to turn a batch into state writes and changelog records.', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers }),
    storeSeconds: new Histogram({ name: 'churn_online_store_operation_duration_seconds', help: 'Redis operations of the online store.', labelNames: ['operation'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25], registers }),
    stateResets: new Counter({ name: 'churn_ingest_state_resets_total', help: 'Customer states dropped because they were built by another feature-set version.', registers }),
  }
}

/**
 * Turns one batch of `customer.events` into online-store writes, changelog records and dead letters.
 * Events already applied (a replay after a crash) are skipped by offset and their vector re-emitted,
 * so the changelog is the same as without the crash.
 */
export async function ingestBatch(
  batch: Batch,
  deps: { codec: CustomerEventCodec; features: AvroCodec; featureSet: FeatureSet; store: OnlineStore; catalog: RoleContext['catalog']; metrics?: IngestMetrics },
): Promise<TopicMessages[]> {
  const { codec, features, featureSet, store, catalog, metrics } = deps
  const { events, deadLetters } = await decodeEventBatch(codec, batch, 'ingest')
  metrics?.events.inc({ outcome: 'dead_lettered' }, deadLetters.length)
  const byCustomer = new Map<string, DecodedEvent[]>()
  for (const decoded of events) {
    const list = byCustomer.get(decoded.event.customer_id)
    if (list === undefined) byCustomer.set(decoded.event.customer_id, [decoded])
    else list.push(decoded)
  }
  const customers = [...byCustomer.keys()]
  const readTimer = metrics?.storeSeconds.startTimer({ operation: 'read_states' })
  const stored = await store.readStates(customers, batch.partition)
  readTimer?.()
  await features.schemaId()

  const writes: StateWrite[] = []
  const changelog: Message[] = []
  const now = Date.now()
  const emit = (customerId: string, values: Float64Array, asOf: number, offset: number): void => {
    changelog.push({
      key: customerId,
      value: features.encode({ customer_id: customerId, feature_set_version: featureSet.version, values: Array.from(values), newest_event_time: asOf, computed_at: now, source_partition: batch.partition, source_offset: offset }),
    })
  }
  for (const [customerId, list] of byCustomer) {
    const previous = stored.get(customerId)
    let state = previous?.state
    if (state !== undefined && state.version !== featureSet.version) {
      metrics?.stateResets.inc()
      state = undefined
    }
    state ??= featureSet.emptyState()
    const storedOffset = previous?.offset ?? -1
    let applied = 0
    let replayedApplied = 0
    let changed = false
    let lastOffset = storedOffset
    for (const { event, offset, message } of list) {
      const arrival = Number(offset)
      lastOffset = Math.max(lastOffset, arrival)
      const late = (): void => {
        metrics?.events.inc({ outcome: 'late' })
        deadLetters.push(deadLetterMessage(message, {
          topic: batch.topic,
          partition: batch.partition,
          reason: 'LATE_EVENT',
          error: `event time ${new Date(event.event_time).toISOString()} is more than ${featureSet.allowedLatenessMs} ms older than the newest event applied for customer ${customerId}`,
          stage: 'ingest',
        }))
      }
      if (arrival <= storedOffset) {
        // Already in the stored state: a replay. Late ones are refused again so the dead-letter topic matches.
        if (state.late.includes(arrival)) late()
        else replayedApplied += 1
        metrics?.events.inc({ outcome: 'replayed' })
        continue
      }
      changed = true
      if (featureSet.apply(state, eventRow(event, { topic: batch.topic, partition: batch.partition, offset }), arrival) === 'late') {
        late()
      } else {
        applied += 1
        metrics?.events.inc({ outcome: 'applied' })
      }
    }
    if (applied > 0) {
      const vector = featureSet.materialize(state)
      writes.push({ customerId, partition: batch.partition, offset: lastOffset, state, vector })
      emit(customerId, vector, state.newest ?? 0, lastOffset)
    } else if (changed) {
      writes.push({ customerId, partition: batch.partition, offset: lastOffset, state, vector: undefined })
    } else if (replayedApplied > 0 && previous?.vector !== undefined) {
      emit(customerId, decodeVector(previous.vector), state.newest ?? 0, storedOffset)
    }
  }
  const writeTimer = metrics?.storeSeconds.startTimer({ operation: 'write_states' })
  await store.writeStates(writes, featureSet.version)
  writeTimer?.()
  metrics?.changelog.inc(changelog.length)
  return [
    { topic: catalog.customerFeatures.name, messages: changelog },
    { topic: catalog.deadLetter(catalog.customerEvents).name, messages: deadLetters },
  ]
}

/** The `ingest` role: customer.events -> Redis online store + customer.features, exactly once for read_committed readers. */
export async function startIngest(context: RoleContext, featureSet: FeatureSet, input: IngestOptionsInput = {}): Promise<RunningRole> {
  const options = ingestOptionsSchema.parse(input)
  const redis = await context.redis()
  const store = new OnlineStore(redis, { keyPrefix: options.keyPrefix })
  const metrics = createMetrics(context)
  const codec = new CustomerEventCodec(context.registry, context.catalog.customerEvents)
  const features = new AvroCodec(context.registry, loadSchema('featureVector'), `${context.catalog.customerFeatures.name}-value`)
  const pipeline = new TransactionalPipeline({
    kafka: context.kafka,
    logger: context.logger.child({ role: 'ingest' }),
    groupId: options.groupId,
    transactionalId: `churn-ingest-${context.instanceId}`,
    topics: [context.catalog.customerEvents.name],
    maxBytesPerPartition: options.maxBytesPerPartition,
    sessionTimeout: options.sessionTimeoutMs,
    transform: async (batch) => {
      const timer = metrics.batchSeconds.startTimer()
      try {
        return await ingestBatch(batch, { codec, features, featureSet, store, catalog: context.catalog, metrics })
      } finally {
        timer()
      }
    },
  })
  await pipeline.start()
  return { name: 'ingest', close: () => pipeline.close() }
}
