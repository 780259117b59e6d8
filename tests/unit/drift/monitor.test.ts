import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DriftMonitor, type DriftOptions, type DriftReportRecord, type RetrainRequestRecord } from '../../../drift/index.js'
import { loadSchema } from '../../../schemas/avro.js'
import { HOUR, MINUTE, T0, referenceLikeValues, testOptions, testReference } from './fixtures.js'

const FEATURES = 'customer.features:0'
const SCORES = 'churn.scores:0'
const EVENTS = 'customer.events:0'

/** Tenure shifted to the last bin from hour 2 on: the drift every test looks for. */
function values(i: number, at: number): number[] {
  const base = referenceLikeValues(i)
  return at >= T0 + 2 * HOUR ? [35, ...base.slice(1)] : base
}

describe('DriftMonitor', () => {
  it('reports every window, asks for retraining after two drifted windows and reports realised performance once labels are final', () => {
    const options = testOptions({ consecutiveWindows: 2 })
    // No score distribution in the metadata: window 0 becomes the score baseline, and the scores never move from it.
    const monitor = new DriftMonitor(options, testReference('v1', {}, false))
    monitor.assignInputs([FEATURES, SCORES, EVENTS])
    const reports: DriftReportRecord[] = []
    const requests: RetrainRequestRecord[] = []
    for (let hour = 0; hour < 8; hour++) {
      for (let i = 0; i < 40; i++) {
        const at = T0 + hour * HOUR + i * MINUTE
        monitor.addFeatures(FEATURES, { customerId: `c${i}`, eventTime: at, featureSetVersion: 'fs-1', values: values(i, at) })
        // Customers c0-c9 are scored high and cancel half an hour later; the others are scored low and stay.
        monitor.addScore(SCORES, { customerId: `c${i}-${hour}`, eventTime: at, probability: i < 10 ? 0.85 : 0.15, modelVersion: 'v1' })
        if (i < 10) monitor.addCancellation(EVENTS, { customerId: `c${i}-${hour}`, eventTime: at + 30 * MINUTE })
        else monitor.observe(EVENTS, at)
      }
      const output = monitor.poll(1_000 + hour)
      reports.push(...output.reports)
      requests.push(...output.requests)
    }
    // The watermark is 07:39 - 10 min = 07:29: windows ending by then have closed (00:00 to 06:00), and the cohorts of
    // those ending 2 h (the horizon) before it (00:00 to 04:00) have matured.
    expect(reports.filter((report) => report.report_id.startsWith('drift:')).map((report) => [report.window_start - T0, report.records, report.breaches])).toEqual([
      [0, 40, []], [HOUR, 40, []],
      ...[2, 3, 4, 5, 6].map((hour) => [hour * HOUR, 40, ['psi:tenure_days', 'ks:tenure_days']]),
    ])
    const performance = reports.filter((report) => report.report_id.startsWith('performance:'))
    expect(performance.map((report) => [report.window_start - T0, report.labelled, report.realised_auc])).toEqual([
      [0, 40, 1], [HOUR, 40, 1], [2 * HOUR, 40, 1], [3 * HOUR, 40, 1], [4 * HOUR, 40, 1],
    ])
    expect(reports.every((report) => loadSchema('driftReport').type.isValid(report))).toBe(true)
    // Windows 2 and 3 breach: a request at 04:00; the cooldown (3 h) holds the streak of windows 4-5 and lets 5-6 through at 07:00.
    expect(requests.map((request) => [request.request_id, request.event_time - T0, request.reason])).toEqual([
      ['drift:v1:2024-01-01T02:00:00.000Z', 4 * HOUR, 'drift'],
      ['drift:v1:2024-01-01T05:00:00.000Z', 7 * HOUR, 'drift'],
    ])
    expect(requests[0]?.evidence.map((evidence) => [evidence.window_start - T0, evidence.statistic, evidence.feature])).toEqual([
      [2 * HOUR, 'psi', 'tenure_days'], [2 * HOUR, 'ks', 'tenure_days'], [3 * HOUR, 'psi', 'tenure_days'], [3 * HOUR, 'ks', 'tenure_days'],
    ])
    expect(requests.every((request) => loadSchema('retrainRequest').type.isValid(request))).toBe(true)

    expect(monitor.addFeatures(FEATURES, { customerId: 'late', eventTime: T0 + HOUR, featureSetVersion: 'fs-1', values: [1, 0, 1] })).toBe('late')
    expect(monitor.addCancellation(EVENTS, { customerId: 'late', eventTime: T0 })).toBe('late')
    expect(monitor.counters.features.late).toBe(1)
    expect(monitor.counters.labels.late).toBe(1)
  })

  it('takes the first well-filled window of scores as the baseline when the model has no score distribution', () => {
    const monitor = new DriftMonitor(testOptions(), testReference('v1', {}, false))
    const jsByWindow: (number | null)[] = []
    for (let hour = 0; hour < 4; hour++) {
      for (let i = 0; i < 20; i++) {
        const probability = hour < 2 ? 0.1 + (i % 2) * 0.1 : 0.9
        monitor.addScore(SCORES, { customerId: `c${i}`, eventTime: T0 + hour * HOUR + i * MINUTE, probability, modelVersion: 'v1' })
      }
      jsByWindow.push(...monitor.poll(0).reports.filter((report) => report.report_id.startsWith('drift:')).map((report) => report.score_js))
    }
    expect(jsByWindow).toEqual([null, 0, 1])
  })

  it('feeds the retrain policy only with the current champion\'s evaluations', () => {
    const options = testOptions({ consecutiveWindows: 1, cooldownMs: 0 })
    const monitor = new DriftMonitor(options, testReference('v1'))
    for (let i = 0; i < 20; i++) monitor.addFeatures(FEATURES, { customerId: `c${i}`, eventTime: T0 + i, featureSetVersion: 'fs-1', values: [35, 0, 70] })
    monitor.setReference(testReference('v2'))
    monitor.observe(FEATURES, T0 + 2 * HOUR)
    const output = monitor.poll(0)
    expect(output.reports.map((report) => [report.model_version, report.breached])).toEqual([['v1', true]])
    expect(output.requests).toEqual([])
  })

  it('restored from a snapshot mid-stream, publishes what an uninterrupted run publishes, whenever it polls', () => {
    type Step =
      | { kind: 'features'; partition: number; at: number; i: number; poll: boolean }
      | { kind: 'score'; at: number; customer: number; p: number; poll: boolean }
      | { kind: 'cancel'; at: number; customer: number; poll: boolean }
      | { kind: 'idle'; partition: number; poll: boolean }
    // Minutes relative to a clock that moves 5 minutes a step: mostly in order, some records late.
    const at = fc.integer({ min: -60, max: 10 })
    const poll = fc.boolean()
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('features' as const), partition: fc.integer({ min: 0, max: 1 }), at, i: fc.nat(40), poll }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('score' as const), at, customer: fc.nat(20), p: fc.double({ min: 0, max: 1, noNaN: true }), poll }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), at, customer: fc.nat(20), poll }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('idle' as const), partition: fc.integer({ min: 0, max: 1 }), poll }) },
    )
    const options: DriftOptions = testOptions({
      minRecords: 3, minScores: 3, minLabelled: 3, minPositives: 1, consecutiveWindows: 2, cooldownMs: HOUR, scheduleEveryMs: 3 * HOUR, cohortSampleSize: 6,
    })
    const apply = (monitor: DriftMonitor, s: Step, index: number): void => {
      const time = T0 + (index * 5 + ('at' in s ? s.at : 0)) * MINUTE
      if (s.kind === 'features') {
        monitor.addFeatures(`f${s.partition}`, { customerId: `c${s.i}`, eventTime: time, featureSetVersion: 'fs-1', values: values(s.i, time) })
      } else if (s.kind === 'score') monitor.addScore('s', { customerId: `c${s.customer}`, eventTime: time, probability: s.p, modelVersion: 'v1' })
      else if (s.kind === 'cancel') monitor.addCancellation('e', { customerId: `c${s.customer}`, eventTime: time })
      else monitor.markIdle(`f${s.partition}`)
    }
    const collect = (into: { reports: DriftReportRecord[]; requests: RetrainRequestRecord[] }, monitor: DriftMonitor): void => {
      const output = monitor.poll(0)
      into.reports.push(...output.reports)
      into.requests.push(...output.requests)
    }
    const published = { reports: 0, performance: 0, requests: 0, drift: 0, late: 0 }
    fc.assert(fc.property(fc.array(step, { minLength: 40, maxLength: 160 }), fc.nat(), (steps, cutSeed) => {
      const cut = cutSeed % (steps.length + 1)
      const straight = new DriftMonitor(options, testReference())
      const straightOut = { reports: [] as DriftReportRecord[], requests: [] as RetrainRequestRecord[] }
      steps.forEach((s, index) => {
        apply(straight, s, index)
        if (s.poll) collect(straightOut, straight)
      })
      collect(straightOut, straight)

      let resumed = new DriftMonitor(options, testReference())
      const resumedOut = { reports: [] as DriftReportRecord[], requests: [] as RetrainRequestRecord[] }
      steps.slice(0, cut).forEach((s, index) => {
        apply(resumed, s, index)
        if (!s.poll) collect(resumedOut, resumed)
      })
      resumed = DriftMonitor.restore(JSON.parse(JSON.stringify(resumed.snapshot())), options)
      steps.slice(cut).forEach((s, index) => {
        apply(resumed, s, cut + index)
        if (!s.poll) collect(resumedOut, resumed)
      })
      collect(resumedOut, resumed)

      expect(resumedOut).toEqual(straightOut)
      expect(resumed.snapshot()).toEqual(straight.snapshot())
      published.reports += straightOut.reports.length
      published.performance += straightOut.reports.filter((report) => report.realised_auc !== null).length
      published.requests += straightOut.requests.length
      published.drift += straightOut.requests.filter((request) => request.reason === 'drift').length
      published.late += straight.counters.features.late
    }), { numRuns: 200 })
    // The sequences reach every part: windows close, cohorts mature, drift and schedule requests are raised, records are late.
    for (const count of Object.values(published)) expect(count).toBeGreaterThan(20)
  }, 60_000)
})
