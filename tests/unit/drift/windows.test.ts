import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isChurnError } from '../../../core/errors.js'
import { CohortSample, DriftWindows, TumblingWindows, WatermarkTracker, type ClosedWindow } from '../../../drift/index.js'
import { HOUR, MINUTE, T0, referenceLikeValues, testOptions, testReference } from './fixtures.js'

const vector = (eventTime: number, values: number[] = [15, 0, 70], featureSetVersion = 'fs-1'): { customerId: string; eventTime: number; featureSetVersion: string; values: number[] } =>
  ({ customerId: `c-${eventTime}`, eventTime, featureSetVersion, values })

describe('TumblingWindows', () => {
  it('assigns half-open windows aligned to the offset, before the epoch too', () => {
    const windows = new TumblingWindows(HOUR)
    expect(windows.assign(T0)).toEqual({ start: T0, end: T0 + HOUR })
    expect(windows.assign(T0 + HOUR - 1)).toEqual({ start: T0, end: T0 + HOUR })
    expect(windows.assign(-1)).toEqual({ start: -HOUR, end: 0 })
    const shifted = new TumblingWindows(HOUR, 15 * MINUTE)
    expect(shifted.assign(T0 + 10 * MINUTE)).toEqual({ start: T0 - 45 * MINUTE, end: T0 + 15 * MINUTE })
    expect(() => new TumblingWindows(0)).toThrow(RangeError)
  })
})

describe('WatermarkTracker', () => {
  it('is the minimum over partitions of their newest event time, minus the lateness', () => {
    const tracker = new WatermarkTracker(10 * MINUTE)
    tracker.assign(['features:0', 'features:1'])
    tracker.observe('features:0', T0 + 5 * HOUR)
    expect(tracker.watermark).toBe(Number.NEGATIVE_INFINITY)
    tracker.observe('features:1', T0 + 2 * HOUR)
    expect(tracker.watermark).toBe(T0 + 2 * HOUR - 10 * MINUTE)
    tracker.observe('features:1', T0 + 3 * HOUR)
    expect(tracker.watermark).toBe(T0 + 3 * HOUR - 10 * MINUTE)
    tracker.observe('features:1', T0 + 9 * HOUR)
    expect(tracker.watermark).toBe(T0 + 5 * HOUR - 10 * MINUTE)
  })

  it('lets an idle partition stop holding it back until its next record, and never moves back', () => {
    const tracker = new WatermarkTracker(0)
    tracker.assign(['a', 'b'])
    tracker.observe('a', T0 + HOUR)
    tracker.markIdle('b')
    expect(tracker.watermark).toBe(T0 + HOUR)
    tracker.observe('b', T0)
    expect(tracker.watermark).toBe(T0 + HOUR)
    tracker.assign(['c'])
    tracker.observe('a', T0 + 2 * HOUR)
    expect(tracker.watermark).toBe(T0 + HOUR)
    tracker.release(['c'])
    tracker.observe('b', T0 + 3 * HOUR)
    expect(tracker.watermark).toBe(T0 + 2 * HOUR)
  })

  it('equals a from-scratch minimum after any sequence of records', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1_000 })), { maxLength: 60 }), (records) => {
      const tracker = new WatermarkTracker(7)
      const newest = new Map<number, number>()
      let expected = Number.NEGATIVE_INFINITY
      for (const [partition, time] of records) {
        tracker.observe(`p${partition}`, time)
        newest.set(partition, Math.max(newest.get(partition) ?? Number.NEGATIVE_INFINITY, time))
        expected = Math.max(expected, Math.min(...newest.values()) - 7)
        expect(tracker.watermark).toBe(expected)
      }
    }))
  })
})

describe('DriftWindows', () => {
  it('closes a window only when every partition has passed its end plus the lateness', () => {
    const windows = new DriftWindows(testOptions(), testReference())
    windows.assignInputs(['features:0', 'features:1'])
    expect(windows.addFeatures('features:0', vector(T0 + 5 * MINUTE))).toBe('accepted')
    expect(windows.addFeatures('features:0', vector(T0 + 2 * HOUR))).toBe('accepted')
    expect(windows.takeClosed()).toEqual([])
    // Partition 1 reaches 01:09: the watermark is 00:59, short of the first window's end.
    expect(windows.addFeatures('features:1', vector(T0 + HOUR + 9 * MINUTE))).toBe('accepted')
    expect(windows.takeClosed()).toEqual([])
    windows.addFeatures('features:1', vector(T0 + HOUR + 10 * MINUTE))
    const closed = windows.takeClosed()
    expect(closed.map((window) => [window.start, window.records])).toEqual([[T0, 1]])
    expect(windows.openWindows).toBe(2)
  })

  it('accepts out-of-order records while their window is open and counts those after it closed as late', () => {
    const windows = new DriftWindows(testOptions(), testReference())
    windows.addFeatures('p', vector(T0 + 50 * MINUTE))
    expect(windows.addFeatures('p', vector(T0 + HOUR + 5 * MINUTE))).toBe('accepted')
    expect(windows.addFeatures('p', vector(T0 + 55 * MINUTE))).toBe('accepted')
    expect(windows.addFeatures('p', vector(T0 + HOUR + 10 * MINUTE))).toBe('accepted')
    // The watermark reached 01:00: the first window is closed whether or not it has been taken.
    expect(windows.addFeatures('p', vector(T0 + 59 * MINUTE))).toBe('late')
    expect(windows.addScore('p', { customerId: 'x', eventTime: T0 + 1, probability: 0.5, modelVersion: 'v1' })).toBe('late')
    expect(windows.counters.features).toEqual({ accepted: 4, late: 1, skipped: 0, invalid: 0 })
    expect(windows.counters.scores.late).toBe(1)
    expect(windows.takeClosed()[0]?.records).toBe(2)
    expect(windows.addFeatures('p', vector(T0 + 30 * MINUTE))).toBe('late')
    expect(windows.counters.features.late).toBe(2)
  })

  it('bins each feature on the reference edges with a missing count, and skips vectors of another feature set', () => {
    const windows = new DriftWindows(testOptions(), testReference())
    windows.addFeatures('p', vector(T0, [5, 1, Number.NaN]))
    windows.addFeatures('p', vector(T0, [10, 0, 120]))
    windows.addFeatures('p', vector(T0, [31, 0, 50]))
    expect(windows.addFeatures('p', vector(T0, [31, 0, 50], 'fs-2'))).toBe('skipped')
    expect(windows.addFeatures('p', vector(T0, [31, 0]))).toBe('skipped')
    expect(windows.addFeatures('p', vector(Number.NaN))).toBe('invalid')
    windows.observe('p', T0 + 2 * HOUR)
    const [closed] = windows.takeClosed()
    expect(closed?.records).toBe(3)
    expect(closed?.featureCounts).toEqual([
      [2, 0, 0, 1, 0],
      [2, 1, 0],
      [1, 0, 1, 1],
    ])
  })

  it('keeps score histograms and cohorts per model version, the latest score of a customer', () => {
    const windows = new DriftWindows(testOptions(), testReference())
    windows.addScore('s', { customerId: 'a', eventTime: T0 + 1, probability: 0.15, modelVersion: 'v1' })
    windows.addScore('s', { customerId: 'a', eventTime: T0 + 3, probability: 0.95, modelVersion: 'v1' })
    windows.addScore('s', { customerId: 'a', eventTime: T0 + 2, probability: 0.55, modelVersion: 'v1' })
    windows.addScore('s', { customerId: 'b', eventTime: T0 + 2, probability: 1, modelVersion: 'v0' })
    expect(windows.addScore('s', { customerId: 'b', eventTime: T0 + 2, probability: 1.5, modelVersion: 'v0' })).toBe('invalid')
    windows.observe('s', T0 + 2 * HOUR)
    const [closed] = windows.takeClosed()
    expect([...(closed?.scores.keys() ?? [])]).toEqual(['v0', 'v1'])
    const v1 = closed?.scores.get('v1')
    expect(v1?.count).toBe(3)
    expect(v1?.histogram).toEqual([0, 1, 0, 0, 0, 1, 0, 0, 0, 1])
    expect(v1?.cohort).toEqual({ customers: ['a'], probabilities: [0.95], eventTimes: [T0 + 3] })
  })

  it('keeps the window on the reference it started with when the champion changes', () => {
    const windows = new DriftWindows(testOptions(), testReference('v1'))
    windows.addFeatures('p', vector(T0))
    windows.setReference(testReference('v2', { featureSetVersion: 'fs-2' }))
    expect(windows.addFeatures('p', vector(T0 + 1))).toBe('accepted')
    expect(windows.addFeatures('p', vector(T0 + HOUR, [1, 1, 1], 'fs-2'))).toBe('accepted')
    windows.observe('p', T0 + 3 * HOUR)
    expect(windows.takeClosed().map((window) => [window.reference?.modelVersion, window.records])).toEqual([['v1', 2], ['v2', 1]])
  })

  it('rejects a snapshot taken with other window options, and a malformed one', () => {
    const windows = new DriftWindows(testOptions(), testReference())
    windows.addFeatures('p', vector(T0))
    const snapshot = JSON.parse(JSON.stringify(windows.snapshot())) as unknown
    expect(() => DriftWindows.restore(snapshot, testOptions({ windowMs: 2 * HOUR }))).toThrow(/windowMs/u)
    let error: unknown
    try {
      DriftWindows.restore({ ...(snapshot as object), windows: 'nope' }, testOptions())
    } catch (caught) {
      error = caught
    }
    expect(isChurnError(error, 'VALIDATION')).toBe(true)
  })

  it('restored from a snapshot mid-stream, ends where an uninterrupted run ends, however often closed windows are taken', () => {
    type Step =
      | { kind: 'features'; partition: number; at: number; i: number; take: boolean }
      | { kind: 'score'; partition: number; at: number; customer: number; p: number; take: boolean }
      | { kind: 'idle'; partition: number; take: boolean }
    const partition = fc.integer({ min: 0, max: 2 })
    const at = fc.integer({ min: 0, max: 6 * 60 })
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('features' as const), partition, at, i: fc.nat(40), take: fc.boolean() }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('score' as const), partition, at, customer: fc.nat(30), p: fc.double({ min: 0, max: 1, noNaN: true }), take: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('idle' as const), partition, take: fc.boolean() }) },
    )
    const options = testOptions({ cohortSampleSize: 8 })
    const apply = (windows: DriftWindows, s: Step): void => {
      if (s.kind === 'idle') windows.markIdle(`p${s.partition}`)
      else if (s.kind === 'features') windows.addFeatures(`p${s.partition}`, { customerId: `c${s.i}`, eventTime: T0 + s.at * MINUTE, featureSetVersion: 'fs-1', values: referenceLikeValues(s.i) })
      else windows.addScore(`p${s.partition}`, { customerId: `c${s.customer}`, eventTime: T0 + s.at * MINUTE, probability: s.p, modelVersion: 'v1' })
    }
    fc.assert(fc.property(fc.array(step, { maxLength: 80 }), fc.nat(), (steps, cutSeed) => {
      const cut = cutSeed % (steps.length + 1)
      const straight = new DriftWindows(options, testReference())
      const straightClosed: ClosedWindow[] = []
      for (const s of steps) {
        apply(straight, s)
        if (s.take) straightClosed.push(...straight.takeClosed())
      }
      straightClosed.push(...straight.takeClosed())

      let resumed = new DriftWindows(options, testReference())
      const resumedClosed: ClosedWindow[] = []
      for (const s of steps.slice(0, cut)) {
        apply(resumed, s)
        if (!s.take) resumedClosed.push(...resumed.takeClosed())
      }
      resumed = DriftWindows.restore(JSON.parse(JSON.stringify(resumed.snapshot())), options)
      for (const s of steps.slice(cut)) {
        apply(resumed, s)
        if (!s.take) resumedClosed.push(...resumed.takeClosed())
      }
      resumedClosed.push(...resumed.takeClosed())

      expect(resumedClosed).toEqual(straightClosed)
      expect(resumed.snapshot()).toEqual(straight.snapshot())
    }), { numRuns: 300 })
  }, 60_000)

  it('accumulates 100k vectors of 36 features', () => {
    const edges = [1, 2, 3, 5, 8, 13, 21, 34, 55]
    const reference = {
      ...testReference(),
      featureCount: 36,
      features: Array.from({ length: 36 }, (_, f) => ({ name: `f${f}`, index: f, kind: 'numeric' as const, edges, frequencies: new Array<number>(10).fill(0.1), missingFraction: 0, count: 1_000 })),
    }
    const windows = new DriftWindows(testOptions({ windowMs: 24 * HOUR }), reference)
    const values = Array.from({ length: 1_000 }, (_, row) => Array.from({ length: 36 }, (_, f) => (row % 97 === f ? Number.NaN : ((row * 31 + f * 7) % 60))))
    for (let i = 0; i < 100_000; i++) {
      windows.addFeatures('p', { customerId: `c${i}`, eventTime: T0 + (i % 1_000), featureSetVersion: 'fs-1', values: values[i % 1_000] ?? [] })
    }
    windows.observe('p', T0 + 25 * HOUR)
    const [closed] = windows.takeClosed()
    expect(closed?.records).toBe(100_000)
    for (const counts of closed?.featureCounts ?? []) expect(counts.reduce((sum, n) => sum + n, 0)).toBe(100_000)
  })
})

describe('CohortSample', () => {
  it('keeps the same customers, with their latest scores, whatever the arrival order', () => {
    const score = fc.record({ customer: fc.nat(60), p: fc.double({ min: 0, max: 1, noNaN: true }), t: fc.nat(100) })
    fc.assert(fc.property(fc.array(score, { maxLength: 120 }).chain((scores) => fc.tuple(fc.constant(scores), fc.shuffledSubarray(scores, { minLength: scores.length, maxLength: scores.length }))), ([scores, shuffled]) => {
      // Distinct event times per customer, so "latest" has one answer whatever the order.
      const seen = new Set<string>()
      const unique = scores.filter((s) => !seen.has(`${s.customer}@${s.t}`) && seen.add(`${s.customer}@${s.t}`))
      const order = shuffled.filter((s) => unique.includes(s))
      const a = new CohortSample(10)
      const b = new CohortSample(10)
      for (const s of unique) a.add(`c${s.customer}`, s.p, s.t)
      for (const s of order) b.add(`c${s.customer}`, s.p, s.t)
      expect(b.members()).toEqual(a.members())
      expect(a.size).toBe(Math.min(10, new Set(unique.map((s) => s.customer)).size))
    }))
  })
})
