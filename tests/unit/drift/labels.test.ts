import { describe, expect, it } from 'vitest'
import { LabelTracker, type Cohort } from '../../../drift/index.js'
import { expectedCalibrationError, rocAuc } from '../../../trainer/evaluation/index.js'
import { HOUR, MINUTE, T0, testOptions } from './fixtures.js'

function cohort(windowStart: number, members: [string, number, number][], modelVersion = 'v1'): Cohort {
  return {
    windowStart,
    windowEnd: windowStart + HOUR,
    modelVersion,
    featureSetVersion: 'fs-1',
    scored: members.length,
    members: { customers: members.map(([id]) => id), probabilities: members.map(([, p]) => p), eventTimes: members.map(([, , t]) => t) },
    holdoutAuc: 0.8,
    holdoutCalibrationError: 0.02,
  }
}

describe('LabelTracker', () => {
  // Horizon 2 h: a cohort of window [T0, T0 + 1h) matures at T0 + 3h.
  const options = testOptions()

  it('labels a score positive when its customer cancels after it and within the horizon', () => {
    const tracker = new LabelTracker(options)
    tracker.addCohort(cohort(T0, [
      ['inside', 0.9, T0 + 10 * MINUTE],
      ['at-horizon', 0.8, T0 + 10 * MINUTE],
      ['before-score', 0.7, T0 + 30 * MINUTE],
      ['after-horizon', 0.3, T0],
      ['never', 0.1, T0],
    ]))
    tracker.addCancellation('inside', T0 + HOUR, Number.NEGATIVE_INFINITY)
    tracker.addCancellation('at-horizon', T0 + 10 * MINUTE + 2 * HOUR, Number.NEGATIVE_INFINITY)
    tracker.addCancellation('before-score', T0 + 20 * MINUTE, Number.NEGATIVE_INFINITY)
    tracker.addCancellation('after-horizon', T0 + 2 * HOUR + 1, Number.NEGATIVE_INFINITY)
    expect(tracker.mature(T0 + 3 * HOUR - 1)).toEqual([])
    const [matured] = tracker.mature(T0 + 3 * HOUR)
    expect(matured?.maturedAt).toBe(T0 + 3 * HOUR)
    expect(matured?.labelled).toBe(5)
    expect(matured?.positives).toBe(2)
    const labels = [1, 1, 0, 0, 0]
    const probabilities = [0.9, 0.8, 0.7, 0.3, 0.1]
    expect(matured?.rocAuc).toBe(rocAuc(labels, probabilities))
    expect(matured?.rocAuc).toBe(1)
    expect(matured?.calibrationError).toBe(expectedCalibrationError(labels, probabilities, options.calibrationBins))
    expect(tracker.pendingCohorts).toBe(0)
  })

  it('uses cancellations that arrived before the scores they label', () => {
    const tracker = new LabelTracker(options)
    tracker.addCancellation('a', T0 + 30 * MINUTE, Number.NEGATIVE_INFINITY)
    tracker.addCohort(cohort(T0, [['a', 0.6, T0 + 5 * MINUTE], ['b', 0.4, T0]]))
    expect(tracker.mature(T0 + 3 * HOUR)[0]?.positives).toBe(1)
  })

  it('reports no AUC when a class is absent and nothing for an empty cohort', () => {
    const tracker = new LabelTracker(options)
    tracker.addCohort(cohort(T0, [['a', 0.6, T0], ['b', 0.4, T0]]))
    tracker.addCohort(cohort(T0, [], 'v2'))
    const matured = tracker.mature(T0 + 3 * HOUR)
    expect(matured.map((m) => [m.cohort.modelVersion, m.rocAuc, m.labelled])).toEqual([['v1', null, 2], ['v2', null, 0]])
    expect(matured[0]?.calibrationError).toBeCloseTo(0.5, 12)
  })

  it('counts a cancellation as late once every cohort it could label has been evaluated, and forgets old ones', () => {
    const tracker = new LabelTracker(options)
    tracker.addCancellation('a', T0 + 30 * MINUTE, Number.NEGATIVE_INFINITY)
    tracker.addCancellation('b', T0 + 5 * HOUR, Number.NEGATIVE_INFINITY)
    // A cancellation at 00:30 can label scores of window [00:00, 01:00), final at 03:00.
    expect(tracker.addCancellation('c', T0 + 30 * MINUTE, T0 + 3 * HOUR - 1)).toBe('accepted')
    expect(tracker.addCancellation('d', T0 + 30 * MINUTE, T0 + 3 * HOUR)).toBe('late')
    expect(tracker.addCancellation('e', Number.NaN, T0)).toBe('invalid')
    expect(tracker.counters).toEqual({ accepted: 3, late: 1, invalid: 1 })
    tracker.mature(T0 + 3 * HOUR)
    expect(tracker.cancelledCustomers).toBe(1)
  })

  it('does not let a cancellation that arrived after a cohort matured label it, however late the cohort is evaluated', () => {
    // Window [00:00, 01:00) matures at 03:00. The cancellation at 02:30 labels the 00:59 score, but it arrives when the
    // watermark is already 04:00: too late for this cohort (it could still label a later one, so it is not dropped).
    const evaluate = (matureEarly: boolean): number | undefined => {
      const tracker = new LabelTracker(options)
      tracker.addCohort(cohort(T0, [['a', 0.9, T0 + 59 * MINUTE], ['b', 0.1, T0]]))
      const early = matureEarly ? tracker.mature(T0 + 3 * HOUR) : []
      expect(tracker.addCancellation('a', T0 + 2 * HOUR + 30 * MINUTE, T0 + 4 * HOUR)).toBe('accepted')
      return [...early, ...tracker.mature(T0 + 4 * HOUR)][0]?.positives
    }
    expect(evaluate(true)).toBe(0)
    expect(evaluate(false)).toBe(0)
  })

  it('restores from a JSON snapshot', () => {
    const tracker = new LabelTracker(options)
    tracker.addCohort(cohort(T0, [['a', 0.6, T0], ['b', 0.4, T0]]))
    tracker.addCancellation('a', T0 + HOUR, Number.NEGATIVE_INFINITY)
    const restored = LabelTracker.restore(JSON.parse(JSON.stringify(tracker.snapshot())), options)
    expect(restored.snapshot()).toEqual(tracker.snapshot())
    expect(restored.mature(T0 + 3 * HOUR)).toEqual(tracker.mature(T0 + 3 * HOUR))
  })
})
