import { afterAll, describe, expect, it } from 'vitest'
import { createOfflineClient } from '../../core/clickhouse.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { DAY_MS, FeatureSet } from '../../feature-store/feature-set.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import { buildTrainingSet } from '../../feature-store/offline/training-set.js'
import { createSimulator } from '../../producers/simulator/index.js'
import type { CustomerEvent } from '../../schemas/events.js'
import { tempDir } from '../support/factories.js'

const client = createOfflineClient({ path: tempDir('chdb-training') })
afterAll(() => client.close())

const start = Date.UTC(2026, 0, 1)
const featureSet = new FeatureSet(churnFeatures)

async function load(events: readonly CustomerEvent[], topic: string): Promise<void> {
  const rows = events.map((event, i) => eventRow(event, { topic, partition: 0, offset: String(i) }))
  for (let i = 0; i < rows.length; i += 50_000) await client.insert({ table: 'customer_events', values: rows.slice(i, i + 50_000), format: 'JSONEachRow' })
}

describe('training set builder', () => {
  it('computes features from the past only, labels from the horizon after, and drops unknown labels', async () => {
    await migrate(client)
    const simulator = createSimulator({ seed: 9, customers: 300, start, signupsPerDay: 2 })
    const events = simulator.advanceTo(start + 150 * DAY_MS)
    await load(events, 'sim')
    const horizonDays = 30
    const set = await buildTrainingSet(client, featureSet, { sampling: { everyDays: 14, from: start + 40 * DAY_MS, to: start + 150 * DAY_MS }, horizonDays })
    const dataEnd = events.reduce((max, e) => Math.max(max, e.event_time), 0)
    expect(set.observations.length).toBeGreaterThan(1_000)
    expect(set.features).toHaveLength(set.observations.length * featureSet.names.length)
    expect(set.window.to + horizonDays * DAY_MS).toBeLessThanOrEqual(dataEnd)

    const cancelledAt = new Map(events.filter((e) => e.type === 'cancellation').map((e) => [e.customer_id, e.event_time]))
    const signedUpAt = new Map(events.filter((e) => e.type === 'signup').map((e) => [e.customer_id, e.event_time]))
    let positives = 0
    set.observations.forEach((o, i) => {
      const cancelled = cancelledAt.get(o.customer_id)
      // Only active customers are observed, and the label looks forward over the horizon only.
      expect(signedUpAt.get(o.customer_id)).toBeLessThanOrEqual(o.as_of)
      expect(cancelled === undefined || cancelled > o.as_of).toBe(true)
      const label = cancelled !== undefined && cancelled <= o.as_of + horizonDays * DAY_MS ? 1 : 0
      expect(set.labels[i]).toBe(label)
      positives += label
    })
    expect(positives).toBeGreaterThan(5)

    // No leakage: every sampled row equals the feature engine fed only the events up to its as-of time.
    const byCustomer = new Map<string, CustomerEvent[]>()
    events.forEach((e) => { byCustomer.set(e.customer_id, [...(byCustomer.get(e.customer_id) ?? []), e]) })
    for (let i = 0; i < set.observations.length; i += 37) {
      const o = set.observations[i]
      if (o === undefined) continue
      const state = featureSet.emptyState()
      ;(byCustomer.get(o.customer_id) ?? []).filter((e) => e.event_time <= o.as_of).forEach((e, n) => featureSet.apply(state, eventRow(e, { topic: 'sim', partition: 0, offset: String(n) }), n))
      const expected = featureSet.materialize(state, o.as_of)
      const actual = set.features.subarray(i * featureSet.names.length, (i + 1) * featureSet.names.length)
      featureSet.names.forEach((name, f) => {
        const [a, b] = [expected[f] ?? Number.NaN, actual[f] ?? Number.NaN]
        if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a))) throw new Error(`${o.customer_id} at ${new Date(o.as_of).toISOString()} ${name}: engine ${a}, offline ${b}`)
      })
    }

    // Events after an observation change its label at most, never its features.
    const first = set.observations[0]
    if (first === undefined) throw new Error('no observation')
    const future: CustomerEvent[] = [
      { event_id: crypto.randomUUID(), customer_id: first.customer_id, event_time: first.as_of + DAY_MS, type: 'payment', payload: { amount: 999, status: 'failed', method: null } },
      { event_id: crypto.randomUUID(), customer_id: first.customer_id, event_time: first.as_of + 2 * DAY_MS, type: 'cancellation', payload: { reason: 'price', voluntary: true } },
    ]
    // They arrive after everything already loaded.
    const rows = future.map((event, i) => eventRow(event, { topic: 'sim', partition: 0, offset: String(events.length + i) }))
    await client.insert({ table: 'customer_events', values: rows, format: 'JSONEachRow' })
    const again = await buildTrainingSet(client, featureSet, { observations: [first], horizonDays, dataEnd })
    expect(Array.from(again.features)).toEqual(Array.from(set.features.subarray(0, featureSet.names.length)))
    expect(again.labels[0]).toBe(1)
    expect(again.dataHash).not.toBe(set.dataHash)
  })
})
