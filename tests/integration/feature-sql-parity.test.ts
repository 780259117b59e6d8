import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { createOfflineClient } from '../../core/clickhouse.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { FeatureSet } from '../../feature-store/feature-set.js'
import { offlineFeatures } from '../../feature-store/offline/features.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import { customerStreamsArbitrary } from '../support/event-streams.js'
import { tempDir } from '../support/factories.js'

const client = createOfflineClient({ path: tempDir('chdb-parity') })
afterAll(() => client.close())

/** Equal up to the order floating-point sums are taken in. */
function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
}

describe('declarations compiled twice', () => {
  it('give the same vector from the online state and from SQL over the raw events', async () => {
    await migrate(client)
    const featureSet = new FeatureSet(churnFeatures)
    const samples = fc.sample(customerStreamsArbitrary({ customers: 40, maxEvents: 60, start: Date.UTC(2026, 0, 1) }), { numRuns: 3, seed: 42 })
    let compared = 0
    let lateSeen = 0
    for (const [run, events] of samples.entries()) {
      const topic = `parity-${run}`
      const states = new Map<string, ReturnType<FeatureSet['emptyState']>>()
      const rows = events.map((event, offset) => {
        const row = eventRow(event, { topic, partition: 0, offset: String(offset) })
        const state = states.get(event.customer_id) ?? featureSet.emptyState()
        states.set(event.customer_id, state)
        if (featureSet.apply(state, row, offset) === 'late') lateSeen += 1
        return row
      })
      await client.insert({ table: 'customer_events', values: rows, format: 'JSONEachRow' })
      // The same records again, as a replay would write them: they must collapse.
      await client.insert({ table: 'customer_events', values: rows.slice(0, 50), format: 'JSONEachRow' })
      const observations = [...states.entries()].map(([customer_id, state]) => ({ customer_id, as_of: state.newest ?? 0 }))
      const offline = await offlineFeatures(client, featureSet, observations)
      expect(offline).toHaveLength(observations.length)
      for (const vector of offline) {
        const state = states.get(vector.customer_id)
        if (state === undefined) throw new Error(`unknown customer ${vector.customer_id}`)
        const online = featureSet.materialize(state)
        featureSet.names.forEach((name, i) => {
          const [a, b] = [online[i] ?? Number.NaN, vector.values[i] ?? Number.NaN]
          if (!close(a, b)) throw new Error(`run ${run} ${vector.customer_id} ${name}: online ${a} offline ${b}`)
        })
        compared += 1
      }
      await client.command({ query: 'TRUNCATE TABLE customer_events' })
    }
    expect(compared).toBe(120)
    // The streams exercised the late-event rule, so the comparison covered it.
    expect(lateSeen).toBeGreaterThan(0)
  })
})
