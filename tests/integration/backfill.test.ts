import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { createOfflineClient } from '../../core/clickhouse.js'
import { config } from '../../core/config.js'
import { createRedis } from '../../core/redis.js'
import { backfillOnlineStore } from '../../feature-store/backfill.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { FeatureSet, type CustomerState } from '../../feature-store/feature-set.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import { OnlineStore } from '../../feature-store/online/online-store.js'
import { customerStreamsArbitrary } from '../support/event-streams.js'
import { tempDir, uniqueName } from '../support/factories.js'

const client = createOfflineClient({ path: tempDir('chdb-backfill') })
const redis = createRedis(config().REDIS_URL)
const keyPrefix = `${uniqueName('backfill')}:`
afterAll(async () => {
  const keys = await redis.keys(`${keyPrefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
  await client.close()
})

describe('backfill', () => {
  it('rebuilds the online store from the offline store as ingest would have built it', async () => {
    await migrate(client)
    await redis.connect()
    const featureSet = new FeatureSet(churnFeatures)
    const [events = []] = fc.sample(customerStreamsArbitrary({ customers: 50, maxEvents: 40, start: Date.UTC(2026, 0, 1) }), { numRuns: 1, seed: 3 })
    // Arrival order: the position in the topic, as ingest consumed it; customers spread over two partitions.
    const expected = new Map<string, CustomerState>()
    const rows = events.map((event, i) => {
      const partition = Number(event.customer_id.slice(2)) % 2
      const state = expected.get(event.customer_id) ?? featureSet.emptyState()
      expected.set(event.customer_id, state)
      const row = eventRow(event, { topic: 'customer.events', partition, offset: String(i) })
      featureSet.apply(state, row, i)
      return row
    })
    await client.insert({ table: 'customer_events', values: rows, format: 'JSONEachRow' })
    await client.insert({ table: 'customer_events', values: rows.slice(0, 20), format: 'JSONEachRow' })

    const store = new OnlineStore(redis, { keyPrefix })
    const report = await backfillOnlineStore(client, featureSet, store, { topic: 'customer.events', customersPerBatch: 7 })
    expect(report).toMatchObject({ customers: 50, events: events.length, written: 50 })
    expect(report.late).toBeGreaterThan(0)
    const customers = [...expected.keys()]
    const vectors = await store.readVectors(customers)
    vectors.forEach((vector, i) => {
      const state = expected.get(customers[i] ?? '')
      expect(vector?.asOf).toBe(state?.newest)
      expect(Array.from(vector?.values ?? [])).toEqual(Array.from(state === undefined ? [] : featureSet.materialize(state)))
    })

    // Already at these offsets: nothing to write, unless forced.
    expect((await backfillOnlineStore(client, featureSet, store, { topic: 'customer.events' })).written).toBe(0)
    expect((await backfillOnlineStore(client, featureSet, store, { topic: 'customer.events', force: true })).written).toBe(50)
  })
})
