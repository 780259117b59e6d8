import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { roleNames } from '../../cli/roles.js'
import { driftOptionsFromConfig, driftMetrics, IdleInputs, parseDriftRoleOptions } from '../../consumers/drift/index.js'
import { recordEffects } from '../../consumers/drift/metrics.js'
import { parseConfig } from '../../core/config.js'
import { isChurnError } from '../../core/errors.js'
import type { DriftReportRecord } from '../../drift/index.js'
import { TopicCatalog, topicConfig } from '../../schemas/catalog.js'

const HOUR = 3_600_000

describe('drift role options', () => {
  it('takes the drift library defaults, and a group id from the topic prefix', () => {
    const options = parseDriftRoleOptions({}, 'staging.')
    expect(options.groupId).toBe('staging.churn-drift')
    expect(options.modelName).toBe('churn')
    expect(options.idlePartitionMs).toBe(60_000)
    expect(options.drift.windowMs).toBe(24 * HOUR)
    expect(options.drift.thresholds.psi).toBe(0.2)
    expect(options.drift.consecutiveWindows).toBe(3)
  })

  it('names the bad field, nested ones included', () => {
    let error: unknown
    try {
      parseDriftRoleOptions({ idlePartitionMs: 0, drift: { windowMs: -1, thresholds: { psi: 0 } } })
    } catch (caught) {
      error = caught
    }
    expect(isChurnError(error, 'CONFIG_INVALID')).toBe(true)
    expect(String(error)).toMatch(/idlePartitionMs/u)
    expect(String(error)).toMatch(/drift\.windowMs/u)
    expect(String(error)).toMatch(/drift\.thresholds\.psi/u)
    expect(() => parseDriftRoleOptions({ drift: { windowSize: 1 } } as never)).toThrow(/windowSize/u)
  })

  it('reads the DRIFT_* variables; unset ones keep the defaults', () => {
    const config = parseConfig({
      TOPIC_PREFIX: 'p.',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      DRIFT_WINDOW_MS: String(HOUR),
      DRIFT_ALLOWED_LATENESS_MS: '60000',
      DRIFT_CONSECUTIVE_WINDOWS: '2',
      DRIFT_COOLDOWN_MS: String(6 * HOUR),
      DRIFT_PSI_THRESHOLD: '0.3',
      DRIFT_SCHEDULE_HOURS: '1.5',
      DRIFT_MAX_BYTES_PER_PARTITION: '4096',
      TRAINER_HORIZON_DAYS: '14',
    })
    const options = parseDriftRoleOptions(driftOptionsFromConfig(config))
    expect(options).toMatchObject({ groupId: 'p.churn-drift', sessionTimeoutMs: 6_000, maxBytesPerPartition: 4_096 })
    expect(options.drift).toMatchObject({ windowMs: HOUR, allowedLatenessMs: 60_000, consecutiveWindows: 2, cooldownMs: 6 * HOUR, scheduleEveryMs: 1.5 * HOUR, labelHorizonMs: 14 * 24 * HOUR })
    expect(options.drift.thresholds).toMatchObject({ psi: 0.3, ks: 0.15 })

    const defaults = parseDriftRoleOptions(driftOptionsFromConfig(parseConfig({ DRIFT_SCHEDULE_HOURS: '0' })))
    expect(defaults.drift).toMatchObject({ windowMs: 24 * HOUR, allowedLatenessMs: HOUR, scheduleEveryMs: null })
    expect(() => parseConfig({ DRIFT_WINDOW_MS: '-5' })).toThrow(/DRIFT_WINDOW_MS/u)
  })

  it('runs after the scorer as `churn run --roles drift`, with its state on a compacted one-partition topic', () => {
    expect(roleNames().indexOf('drift')).toBe(roleNames().indexOf('scorer') + 1)
    const state = new TopicCatalog({ prefix: 'x.' }).driftState
    expect(state).toMatchObject({ name: 'x.churn.drift.state', partitions: 1, cleanupPolicy: 'compact' })
    expect(state.schema).toBeUndefined()
    expect(topicConfig(state)).toMatchObject({ 'cleanup.policy': 'compact', 'segment.ms': String(HOUR) })
  })
})

describe('IdleInputs', () => {
  const inputs = ['a:0', 'a:1', 'b:0']

  it('marks an input idle once it has been silent for the idle time while the others deliver', () => {
    const idle = new IdleInputs(1_000, 0)
    const marked: string[][] = []
    for (let now = 100; now <= 1_500; now += 100) marked.push(idle.batch(now % 200 === 0 ? 'a:0' : 'b:0', now, inputs))
    // a:1 never delivers: idle from 1 s of activity on; a:0 and b:0 take turns and never are.
    expect(marked.slice(0, 9).flat()).toEqual([])
    expect(marked.slice(9).every((names) => names.length === 1 && names[0] === 'a:1')).toBe(true)
  })

  it('does not mark everything idle when a burst follows a quiet spell', () => {
    const idle = new IdleInputs(1_000, 0)
    expect(idle.batch('a:0', 100, inputs)).toEqual([])
    // Ten seconds of silence everywhere, then a burst: the other inputs' records are on their way.
    expect(idle.batch('a:0', 10_100, inputs)).toEqual([])
    expect(idle.batch('b:0', 10_200, inputs)).toEqual([])
    expect(idle.batch('a:0', 11_000, inputs)).toEqual([])
    expect(idle.batch('b:0', 11_150, inputs)).toEqual(['a:1'])
  })

  it('counts silence from the input\'s own last record', () => {
    const idle = new IdleInputs(1_000, 0)
    expect(idle.batch('a:1', 500, inputs)).toEqual([])
    // b:0 has been silent since the start (1.2 s), a:1 for 0.7 s.
    expect(idle.batch('a:0', 1_200, inputs)).toEqual(['b:0'])
    expect(idle.batch('a:0', 1_500, inputs)).toEqual(['a:1', 'b:0'])
    expect(() => new IdleInputs(0, 0)).toThrow(RangeError)
  })
})

describe('drift metrics', () => {
  const report = (kind: DriftReportRecord['kind'], model: string, psi: number): DriftReportRecord => ({
    report_id: `${kind}:${model}`, kind, window_start: 0, window_end: HOUR, model_version: model, feature_set_version: 'fs', records: 10, labelled: 0,
    features: [{ feature: 'tenure', kind: 'numeric', psi, ks: psi / 2, chi_square_p: null, drifted: psi > 0.2 }, { feature: 'senior', kind: 'categorical', psi, ks: null, chi_square_p: 0.5, drifted: false }],
    score_js: null, realised_auc: kind === 'performance' ? 0.7 : null, calibration_error: null, breached: psi > 0.2, breaches: [], created_at: 0, late_records: 0,
  })

  it('count what committed, and show the last closed window of the champion', async () => {
    const registry = new Registry()
    const metrics = driftMetrics(registry)
    expect(driftMetrics(registry)).toBe(metrics)
    recordEffects(metrics, {
      records: new Map([['customer.features', new Map([['applied', 5], ['late', 1]] as const)]]),
      windowsClosed: 2,
      reports: [report('drift', 'v1', 0.3), report('drift', 'v0', 0.9), report('performance', 'v1', 0)],
      requests: [{ request_id: 'r', requested_at: 0, reason: 'drift', model_version: 'v1', evidence: [], event_time: 0 }],
      champion: 'v1',
      suppressedRequests: 1,
      watermark: Date.now() - 10_000,
      openWindows: 3,
      snapshotBytes: 1234,
    })
    const text = await registry.metrics()
    expect(text).toMatch(/churn_drift_records_total\{topic="customer.features",outcome="late"\} 1/u)
    expect(text).toMatch(/churn_drift_windows_closed_total 2/u)
    expect(text).toMatch(/churn_drift_feature_psi\{feature="tenure"\} 0.3\n/u)
    expect(text).toMatch(/churn_drift_feature_ks\{feature="tenure"\} 0.15\n/u)
    expect(text).not.toMatch(/churn_drift_feature_ks\{feature="senior"\}/u)
    expect(text).toMatch(/churn_drift_score_js nan/iu)
    expect(text).toMatch(/churn_drift_realised_roc_auc 0.7/u)
    expect(text).toMatch(/churn_drift_retrain_requests_total\{reason="drift"\} 1/u)
    expect(text).toMatch(/churn_drift_snapshot_bytes 1234/u)
    const lag = /^churn_drift_watermark_lag_seconds (\S+)$/mu.exec(text)?.[1]
    expect(Number(lag)).toBeGreaterThanOrEqual(10)
  })
})
