import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { DAY_MS, FeatureSet, encodeState, type CustomerState } from '../../feature-store/feature-set.js'
import { eventRow, type EventRow } from '../../feature-store/offline/rows.js'
import { customerStreamsArbitrary } from '../support/event-streams.js'

const featureSet = new FeatureSet(churnFeatures)

/** Same numbers, bit for bit (NaN and -0 included). */
const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((value, i) => Object.is(value, b[i]))

interface LegacyFixture {
  version: string
  customers: { id: string; legacy: string; vector: number[]; later: number; vectorLater: number[]; next: { row: EventRow; arrival: number }[]; vectorAfterNext: number[] }[]
}

describe('customer state in the online store', () => {
  it('gives the same vectors when the state is stored and read back between any two events', () => {
    const streams = customerStreamsArbitrary({ customers: 8, maxEvents: 50, start: Date.UTC(2026, 0, 1) })
    fc.assert(
      fc.property(streams, fc.infiniteStream(fc.boolean()), (events, storeNow) => {
        const kept = new Map<string, CustomerState>()
        const stored = new Map<string, CustomerState>()
        events.forEach((event, i) => {
          const row = eventRow(event, { topic: 't', partition: 0, offset: String(i) })
          const a = kept.get(event.customer_id) ?? featureSet.emptyState()
          let b = stored.get(event.customer_id) ?? featureSet.emptyState()
          if (storeNow.next().value) b = featureSet.decodeState(encodeState(b)) ?? featureSet.emptyState()
          kept.set(event.customer_id, a)
          stored.set(event.customer_id, b)
          expect(featureSet.apply(b, row, i)).toBe(featureSet.apply(a, row, i))
          expect(same(featureSet.materialize(b), featureSet.materialize(a))).toBe(true)
          expect(same(featureSet.materialize(b, event.event_time + 45 * DAY_MS), featureSet.materialize(a, event.event_time + 45 * DAY_MS))).toBe(true)
        })
      }),
      { numRuns: 30 },
    )
  })

  it('reads the JSON states of earlier releases and carries on from them as they would have', () => {
    const fixture = JSON.parse(readFileSync(join(projectRoot, 'tests', 'unit', 'fixtures', 'legacy-customer-states.json'), 'utf8')) as LegacyFixture
    expect(fixture.version).toBe(featureSet.version)
    for (const customer of fixture.customers) {
      const state = featureSet.decodeState(Buffer.from(customer.legacy))
      if (state === undefined) throw new Error(`legacy state of ${customer.id} not read`)
      expect(Array.from(featureSet.materialize(state))).toEqual(customer.vector)
      expect(Array.from(featureSet.materialize(state, customer.later))).toEqual(customer.vectorLater)
      // Stored again in the binary layout, then the events that came after.
      const resumed = featureSet.decodeState(encodeState(state)) ?? featureSet.emptyState()
      for (const { row, arrival } of customer.next) featureSet.apply(resumed, row, arrival)
      expect(Array.from(featureSet.materialize(resumed))).toEqual(customer.vectorAfterNext)
    }
  })

  it('keeps late arrivals and open tickets across a store and read', () => {
    const state = featureSet.emptyState()
    const base = { event_id: 'e', customer_id: 'c-1', src_topic: 't', src_partition: 0, src_offset: '0' }
    const now = Date.UTC(2026, 2, 1)
    featureSet.apply(state, { ...base, event_time: now, type: 'support_ticket', ticket_id: 'tické-1', category: 'billing', severity: 'high', resolved: 0 }, 1)
    featureSet.apply(state, { ...base, event_time: now + DAY_MS, type: 'usage', sessions: 2, minutes: 3.5, data_mb: 7 }, 2)
    expect(featureSet.apply(state, { ...base, event_time: now - 10 * DAY_MS, type: 'usage', sessions: 1, minutes: 1, data_mb: 1 }, 3)).toBe('late')
    const read = featureSet.decodeState(encodeState(state))
    expect(read?.late).toEqual([3])
    expect(read?.tickets).toEqual(new Map([['tické-1', [now, 1, 0, 3]]]))
    expect(read?.newest).toBe(now + DAY_MS)
    expect(same(featureSet.materialize(read ?? featureSet.emptyState()), featureSet.materialize(state))).toBe(true)
  })

  it('leaves a state of another feature-set version to be rebuilt and refuses a damaged one', () => {
    const other = new FeatureSet(churnFeatures, { allowedLatenessMs: DAY_MS })
    expect(other.version).not.toBe(featureSet.version)
    const state = featureSet.emptyState()
    featureSet.apply(state, { event_id: 'e', customer_id: 'c-1', event_time: Date.UTC(2026, 0, 1), type: 'usage', sessions: 1, minutes: 1, data_mb: 1, src_topic: 't', src_partition: 0, src_offset: '0' }, 0)
    const encoded = encodeState(state)
    expect(other.decodeState(encoded)).toBeUndefined()
    expect(other.decodeState(Buffer.from(JSON.stringify({ version: featureSet.version })))).toBeUndefined()
    expect(() => featureSet.decodeState(encoded.subarray(0, encoded.length - 3))).toThrow(/malformed/u)
    expect(() => featureSet.decodeState(Buffer.from([1, 2, 3]))).toThrow(/malformed/u)
  })
})
