import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { createOfflineClient } from '../../core/clickhouse.js'
import { createIdempotentProducer } from '../../core/kafka.js'
import { startIngest } from '../../consumers/ingest/index.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { FeatureSet, type CustomerState } from '../../feature-store/feature-set.js'
import { offlineFeatures } from '../../feature-store/offline/features.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import { OnlineStore, type StateWrite } from '../../feature-store/online/online-store.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import { customerStreamsArbitrary } from '../support/event-streams.js'
import { consumeUntil, latestChangelogVectors, pollUntil, tempDir, testCatalog, testKafka, testRegistry, testRoleContext, uniqueName } from '../support/factories.js'

const kafka = testKafka()
const registry = testRegistry()
const catalog = await testCatalog(kafka, 2)
const offline = createOfflineClient({ path: tempDir('chdb-ingest') })
afterAll(() => offline.close())

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))

async function counted(context: ReturnType<typeof testRoleContext>): Promise<number> {
  const metric = await context.metrics.getSingleMetric('churn_ingest_events_total')?.get()
  return (metric?.values ?? []).filter((v) => v.labels['outcome'] !== 'replayed').reduce((sum, v) => sum + v.value, 0)
}

describe('ingest role', () => {
  it('keeps Redis, the changelog and the offline SQL in agreement, and accounts for every record', async () => {
    const featureSet = new FeatureSet(churnFeatures)
    const [events = []] = fc.sample(customerStreamsArbitrary({ customers: 30, maxEvents: 40, start: Date.now() - 200 * 86_400_000 }), { numRuns: 1, seed: 7 })
    const codec = new CustomerEventCodec(registry, catalog.customerEvents)
    await codec.schemaId()
    const producer = createIdempotentProducer(kafka)
    await producer.connect()
    const bad = [{ key: 'p-0', value: Buffer.from('not avro') }, { key: 'p-1', value: Buffer.from([0, 0, 0, 0, 1]) }]
    await producer.send({ topic: catalog.customerEvents.name, acks: -1, messages: [...events.map((event) => ({ key: event.customer_id, value: codec.encode(event) })), ...bad] })
    await producer.disconnect()

    const keyPrefix = `${uniqueName('t')}:`
    const context = testRoleContext(catalog)
    const role = await startIngest(context, featureSet, { groupId: uniqueName('g.ingest'), keyPrefix })
    try {
      const total = await pollUntil(() => counted(context), (n) => n >= events.length + bad.length, 60_000)
      expect(total).toBe(events.length + bad.length)
    } finally {
      await role.close()
    }

    // Expected: the feature engine applied to each customer's events in arrival order.
    const expected = new Map<string, CustomerState>()
    let late = 0
    events.forEach((event, i) => {
      const state = expected.get(event.customer_id) ?? featureSet.emptyState()
      expected.set(event.customer_id, state)
      if (featureSet.apply(state, eventRow(event, { topic: 't', partition: 0, offset: String(i) }), i) === 'late') late += 1
    })
    expect(late).toBeGreaterThan(0)
    const store = new OnlineStore(await context.redis(), { keyPrefix })
    const customers = [...expected.keys()]
    const vectors = await store.readVectors(customers)
    vectors.forEach((vector, i) => {
      const state = expected.get(customers[i] ?? '')
      if (vector === undefined || state === undefined) throw new Error(`no online vector for ${customers[i] ?? '?'}`)
      expect(vector.featureSetVersion).toBe(featureSet.version)
      expect(vector.asOf).toBe(state.newest)
      expect(Array.from(vector.values)).toEqual(Array.from(featureSet.materialize(state)))
    })

    // Late events and undecodable records are dead-lettered; nothing else is.
    const dead = await consumeUntil(kafka, catalog.deadLetter(catalog.customerEvents).name, (read) => read.length >= late + bad.length)
    expect(dead).toHaveLength(late + bad.length)

    // The changelog's latest vector per customer is the online one.
    const latest = await latestChangelogVectors(kafka, registry, catalog, 5_000)
    expect(latest.size).toBe(customers.length)
    vectors.forEach((vector) => {
      expect(latest.get(vector?.customerId ?? '')).toEqual(Array.from(vector?.values ?? []))
    })

    // The offline store, fed the same records with their real offsets, computes the same features.
    await migrate(offline)
    const raw = await consumeUntil(kafka, catalog.customerEvents.name, (read) => read.length >= events.length + bad.length)
    const rows = []
    for (const record of raw) {
      const decoded = await codec.decode(record.value)
      if (decoded.ok) rows.push(eventRow(decoded.value, { topic: catalog.customerEvents.name, partition: record.partition, offset: record.offset }))
    }
    await offline.insert({ table: 'customer_events', values: rows, format: 'JSONEachRow' })
    const fromSql = await offlineFeatures(offline, featureSet, vectors.map((vector) => ({ customer_id: vector?.customerId ?? '', as_of: vector?.asOf ?? 0 })))
    for (const row of fromSql) {
      const online = vectors.find((vector) => vector?.customerId === row.customer_id)
      featureSet.names.forEach((name, i) => {
        const [a, b] = [online?.values[i] ?? Number.NaN, row.values[i] ?? Number.NaN]
        if (!close(a, b)) throw new Error(`${row.customer_id} ${name}: online ${a} offline ${b}`)
      })
    }
    expect(fromSql).toHaveLength(customers.length)
  })

  it('applies events in order whatever key their records carry', async () => {
    // One partition, so the arrival order is the topic's order whatever the keys.
    const single = await testCatalog(kafka, 1)
    const featureSet = new FeatureSet(churnFeatures)
    const [events = []] = fc.sample(customerStreamsArbitrary({ customers: 12, maxEvents: 30, start: Date.now() - 100 * 86_400_000 }), { numRuns: 1, seed: 23 })
    // Customers take turns, so a batch mixes customers whose records are keyed right, wrong or not at all.
    const queues = new Map<string, typeof events>()
    for (const event of events) queues.set(event.customer_id, [...(queues.get(event.customer_id) ?? []), event])
    const ordered: typeof events = []
    while (ordered.length < events.length) for (const queue of queues.values()) { const next = queue.shift(); if (next !== undefined) ordered.push(next) }
    const codec = new CustomerEventCodec(registry, single.customerEvents)
    await codec.schemaId()
    const keyOf = (customer: string, i: number): string | null => {
      const n = Number(customer.slice(2))
      if (n % 3 === 0) return customer
      if (n % 3 === 1) return null
      return i % 2 === 0 ? customer : `someone-else-${n}`
    }
    const producer = createIdempotentProducer(kafka)
    await producer.connect()
    await producer.send({ topic: single.customerEvents.name, acks: -1, messages: ordered.map((event, i) => ({ key: keyOf(event.customer_id, i), value: codec.encode(event), partition: 0 })) })
    await producer.disconnect()

    const keyPrefix = `${uniqueName('t')}:`
    const context = testRoleContext(single)
    const role = await startIngest(context, featureSet, { groupId: uniqueName('g.ingest'), keyPrefix })
    try {
      await pollUntil(() => counted(context), (n) => n >= ordered.length, 60_000)
    } finally {
      await role.close()
    }
    const expected = new Map<string, CustomerState>()
    ordered.forEach((event, i) => {
      const state = expected.get(event.customer_id) ?? featureSet.emptyState()
      expected.set(event.customer_id, state)
      featureSet.apply(state, eventRow(event, { topic: 't', partition: 0, offset: String(i) }), i)
    })
    const customers = [...expected.keys()]
    const vectors = await new OnlineStore(await context.redis(), { keyPrefix }).readVectors(customers)
    vectors.forEach((vector, i) => {
      const state = expected.get(customers[i] ?? '')
      expect(vector?.asOf).toBe(state?.newest)
      expect(Array.from(vector?.values ?? [])).toEqual(Array.from(state === undefined ? [] : featureSet.materialize(state)))
    })
  })
})

describe('online store', () => {
  it('writes a state once per offset, in calls of many customers, unless forced', async () => {
    const featureSet = new FeatureSet(churnFeatures)
    const context = testRoleContext(catalog)
    const redis = await context.redis()
    const keyPrefix = `${uniqueName('t')}:`
    const store = new OnlineStore(redis, { keyPrefix, ttlSeconds: 3_600 })
    const state = featureSet.emptyState()
    featureSet.apply(state, { event_id: 'e', customer_id: 'c', event_time: Date.now() - 86_400_000, type: 'usage', sessions: 4, minutes: 20.5, data_mb: 9, src_topic: 't', src_partition: 1, src_offset: '41' }, 41)
    const vector = featureSet.materialize(state)
    // More customers than one script call takes.
    const customers = Array.from({ length: 300 }, (_, i) => `c-${i}`)
    const writes = (offset: number): StateWrite[] => customers.map((customerId) => ({ customerId, partition: 1, offset, state, vector }))
    try {
      expect(await store.readStates(customers, 1)).toEqual(customers.map(() => ({ state: undefined, offset: -1 })))
      expect((await store.writeStates(writes(41), featureSet.version)).every(Boolean)).toBe(true)
      expect((await store.writeStates(writes(41), featureSet.version)).some(Boolean)).toBe(false)
      expect((await store.writeStates(writes(40), featureSet.version)).some(Boolean)).toBe(false)
      expect((await store.writeStates(writes(41), featureSet.version, { force: true })).every(Boolean)).toBe(true)
      const stored = await store.readStates(customers, 1)
      expect(stored.map((entry) => entry.offset)).toEqual(customers.map(() => 41))
      expect(stored.every((entry) => entry.state !== undefined && Array.from(featureSet.materialize(featureSet.decodeState(entry.state) ?? featureSet.emptyState())).join() === Array.from(vector).join())).toBe(true)
      expect((await store.readStates(customers, 0)).every((entry) => entry.offset === -1)).toBe(true)
      const [read] = await store.readVectors(['c-7'])
      expect(read).toEqual({ customerId: 'c-7', featureSetVersion: featureSet.version, asOf: state.newest, values: vector })
      expect(await redis.ttl(store.key('c-7'))).toBeGreaterThan(3_000)
    } finally {
      await redis.del(...customers.map((id) => store.key(id)))
    }
  })
})
