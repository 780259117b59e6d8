import { describe, expect, it } from 'vitest'
import { RetrainPolicy, retrainRequestId, type Breach, type PerformanceEvaluation, type RetrainRequestRecord, type WindowEvaluation } from '../../../drift/index.js'
import { loadSchema } from '../../../schemas/avro.js'
import { HOUR, T0, testOptions } from './fixtures.js'

const psiBreach: Breach = { statistic: 'psi', feature: 'tenure_days', value: 0.31, threshold: 0.2 }

/** The drift evaluation of window k (window [T0 + k h, T0 + (k + 1) h)). */
function window(k: number, options: { breaches?: Breach[]; evaluable?: boolean; modelVersion?: string } = {}): WindowEvaluation {
  return {
    kind: 'drift',
    windowStart: T0 + k * HOUR,
    windowEnd: T0 + (k + 1) * HOUR,
    modelVersion: options.modelVersion ?? 'v1',
    featureSetVersion: 'fs-1',
    records: 100,
    scores: 100,
    features: [],
    scoreJs: null,
    evaluable: options.evaluable ?? true,
    breaches: options.breaches ?? [psiBreach],
  }
}

function cohort(k: number, drop: number): PerformanceEvaluation {
  return {
    kind: 'performance',
    windowStart: T0 + k * HOUR,
    windowEnd: T0 + (k + 1) * HOUR,
    maturedAt: T0 + (k + 3) * HOUR,
    modelVersion: 'v1',
    featureSetVersion: 'fs-1',
    scored: 100,
    labelled: 100,
    positives: 20,
    rocAuc: 0.8 - drop,
    calibrationError: 0.03,
    holdoutAuc: 0.8,
    holdoutCalibrationError: 0.02,
    evaluable: true,
    breaches: drop >= 0.05 ? [{ statistic: 'auc_drop', feature: null, value: drop, threshold: 0.05 }] : [],
  }
}

/** Feeds evaluations the way DriftMonitor.poll does; returns every request. */
function run(policy: RetrainPolicy, evaluations: (WindowEvaluation | PerformanceEvaluation)[]): RetrainRequestRecord[] {
  const requests: RetrainRequestRecord[] = []
  for (const evaluation of evaluations) {
    const time = evaluation.kind === 'drift' ? evaluation.windowEnd : evaluation.maturedAt
    requests.push(...policy.advance(time, 'v1', 0))
    const { request } = policy.observe(evaluation, 0)
    if (request !== undefined) requests.push(request)
  }
  return requests
}

describe('RetrainPolicy', () => {
  // Two consecutive windows, cooldown 3 h.
  const options = testOptions()

  it('requests retraining after N consecutive breaching windows, with their breaches as evidence', () => {
    const policy = new RetrainPolicy(options)
    expect(policy.observe(window(0), 0).outcome).toBe('streak')
    const { outcome, request } = policy.observe(window(1, { breaches: [psiBreach, { statistic: 'score_js', feature: null, value: 0.2, threshold: 0.1 }] }), 1_234)
    expect(outcome).toBe('requested')
    expect(request).toEqual({
      request_id: retrainRequestId('drift', 'v1', T0),
      requested_at: 1_234,
      reason: 'drift',
      model_version: 'v1',
      evidence: [
        { window_start: T0, window_end: T0 + HOUR, statistic: 'psi', feature: 'tenure_days', value: 0.31, threshold: 0.2 },
        { window_start: T0 + HOUR, window_end: T0 + 2 * HOUR, statistic: 'psi', feature: 'tenure_days', value: 0.31, threshold: 0.2 },
        { window_start: T0 + HOUR, window_end: T0 + 2 * HOUR, statistic: 'score_js', feature: null, value: 0.2, threshold: 0.1 },
      ],
      event_time: T0 + 2 * HOUR,
    })
    expect(request?.request_id).toBe('drift:v1:2024-01-01T00:00:00.000Z')
    expect(loadSchema('retrainRequest').type.isValid(request)).toBe(true)
  })

  it('starts over after a window that is evaluable and does not breach', () => {
    const policy = new RetrainPolicy(options)
    expect(run(policy, [window(0), window(1, { breaches: [] }), window(2)])).toEqual([])
    expect(run(policy, [window(3)]).map((request) => request.request_id)).toEqual([retrainRequestId('drift', 'v1', T0 + 2 * HOUR)])
  })

  it('lets a window too small to judge neither extend nor end a streak', () => {
    const policy = new RetrainPolicy(options)
    expect(policy.observe(window(0), 0).outcome).toBe('streak')
    expect(policy.observe(window(1, { evaluable: false, breaches: [] }), 0).outcome).toBe('not_evaluable')
    expect(policy.observe(window(2), 0).outcome).toBe('requested')
  })

  it('starts over when the model changes', () => {
    const policy = new RetrainPolicy(options)
    policy.observe(window(0), 0)
    expect(policy.observe(window(1, { modelVersion: 'v2' }), 0).outcome).toBe('streak')
    expect(policy.observe(window(2, { modelVersion: 'v2' }), 0).request?.request_id).toBe(retrainRequestId('drift', 'v2', T0 + HOUR))
  })

  it('holds further requests for the cooldown, in event time', () => {
    const policy = new RetrainPolicy(options)
    const requests = run(policy, [0, 1, 2, 3, 4, 5, 6, 7].map((k) => window(k)))
    // Raised at 02:00 (windows 0-1). Windows 2-3 complete a streak at 04:00, inside the cooldown: held. The streak
    // keeps its last two windows, 3-4, which complete at 05:00, when the cooldown is over; then 6-7 at 08:00.
    expect(requests.map((request) => [request.event_time - T0, request.request_id])).toEqual([
      [2 * HOUR, retrainRequestId('drift', 'v1', T0)],
      [5 * HOUR, retrainRequestId('drift', 'v1', T0 + 3 * HOUR)],
      [8 * HOUR, retrainRequestId('drift', 'v1', T0 + 6 * HOUR)],
    ])
    expect(policy.suppressed).toBe(2)
  })

  it('shares the cooldown between drift and performance requests and keeps their streaks apart', () => {
    const policy = new RetrainPolicy(testOptions({ cooldownMs: 0 }))
    const requests = run(policy, [window(0), cohort(0, 0.1), window(1), cohort(1, 0.01), cohort(2, 0.08), cohort(3, 0.09)])
    expect(requests.map((request) => [request.reason, request.request_id])).toEqual([
      ['drift', retrainRequestId('drift', 'v1', T0)],
      ['performance', retrainRequestId('performance', 'v1', T0 + 2 * HOUR)],
    ])
    expect(requests[1]?.event_time).toBe(T0 + 6 * HOUR)
  })

  it('raises the same request ids when the same evaluations are processed again after a restart', () => {
    const evaluations = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => window(k, k === 6 ? { breaches: [] } : {}))
    const straight = run(new RetrainPolicy(options), evaluations)
    for (let cut = 0; cut <= evaluations.length; cut++) {
      const first = new RetrainPolicy(options)
      const before = run(first, evaluations.slice(0, cut))
      const restored = RetrainPolicy.restore(JSON.parse(JSON.stringify(first.snapshot())), options)
      expect([...before, ...run(restored, evaluations.slice(cut))]).toEqual(straight)
    }
    expect(straight.length).toBeGreaterThan(1)
  })

  it('does not raise an id it raised recently', () => {
    const policy = new RetrainPolicy(testOptions({ cooldownMs: 0, consecutiveWindows: 1 }))
    expect(policy.observe(window(0), 0).outcome).toBe('requested')
    expect(policy.observe(window(0), 0).outcome).toBe('duplicate')
  })

  it('requests retraining on schedule every N hours of event time, from the first evaluation on', () => {
    const policy = new RetrainPolicy(testOptions({ scheduleEveryMs: 4 * HOUR, consecutiveWindows: 100 }))
    expect(policy.advance(T0 + 10 * HOUR, 'v1', 0)).toEqual([])
    policy.observe(window(1), 0)
    expect(policy.nextScheduleAt).toBe(T0 + 4 * HOUR)
    expect(policy.advance(T0 + 4 * HOUR - 1, 'v1', 0)).toEqual([])
    const requests = policy.advance(T0 + 12 * HOUR, 'v1', 99)
    expect(requests.map((request) => [request.request_id, request.event_time - T0, request.reason, request.evidence])).toEqual([
      ['schedule:2024-01-01T04:00:00.000Z', 4 * HOUR, 'schedule', []],
      ['schedule:2024-01-01T08:00:00.000Z', 8 * HOUR, 'schedule', []],
      ['schedule:2024-01-01T12:00:00.000Z', 12 * HOUR, 'schedule', []],
    ])
    expect(requests.every((request) => loadSchema('retrainRequest').type.isValid(request))).toBe(true)
    expect(policy.advance(T0 + 12 * HOUR, 'v1', 0)).toEqual([])
    const restored = RetrainPolicy.restore(JSON.parse(JSON.stringify(policy.snapshot())), testOptions({ scheduleEveryMs: 4 * HOUR }))
    expect(restored.advance(T0 + 16 * HOUR, 'v1', 0).map((request) => request.event_time - T0)).toEqual([16 * HOUR])
  })

  it('has no schedule unless one is configured', () => {
    const policy = new RetrainPolicy(options)
    policy.observe(window(0), 0)
    expect(policy.advance(T0 + 1_000 * HOUR, 'v1', 0)).toEqual([])
  })
})
