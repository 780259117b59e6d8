import { Counter, Gauge, Histogram } from 'prom-client'
import { metricsOnce } from '../../core/metrics.js'
import type { DriftReportRecord, RetrainRequestRecord } from '../../drift/types.js'
import type { RecordOutcome } from './types.js'

export interface DriftMetrics {
  records: Counter<'topic' | 'outcome'>
  windowsClosed: Counter
  reports: Counter<'kind' | 'breached'>
  featurePsi: Gauge<'feature'>
  featureKs: Gauge<'feature'>
  scoreJs: Gauge
  realisedRocAuc: Gauge
  retrainRequests: Counter<'reason'>
  suppressedRequests: Gauge
  watermarkLag: Gauge
  openWindows: Gauge
  snapshotBytes: Gauge
  batchSeconds: Histogram
  /** Watermark of the last committed batch (epoch ms; NaN before the first), read when the lag is scraped. */
  watermark: { value: number }
}

export const driftMetrics = metricsOnce((registers): DriftMetrics => {
  const watermark = { value: Number.NaN }
  return {
    records: new Counter({
      name: 'churn_drift_records_total',
      help: 'Committed input records by topic and outcome: applied (counted in a window, or a cancellation kept as a label), observed (a customer event that only moves time), late (its window had closed), skipped (no reference yet, another feature set, or a rules/base-rate score), dead_lettered.',
      labelNames: ['topic', 'outcome'],
      registers,
    }),
    windowsClosed: new Counter({ name: 'churn_drift_windows_closed_total', help: 'Event-time windows the watermark closed (committed).', registers }),
    reports: new Counter({ name: 'churn_drift_reports_total', help: 'Drift reports published (committed), by kind (drift, performance) and whether they breached a threshold.', labelNames: ['kind', 'breached'], registers }),
    featurePsi: new Gauge({ name: 'churn_drift_feature_psi', help: 'PSI of each feature in the last closed window against the champion reference.', labelNames: ['feature'], registers }),
    featureKs: new Gauge({ name: 'churn_drift_feature_ks', help: 'Binned KS statistic of each numeric feature in the last closed window against the champion reference.', labelNames: ['feature'], registers }),
    scoreJs: new Gauge({ name: 'churn_drift_score_js', help: 'Jensen-Shannon divergence (bits) of the last closed window\'s score distribution from the reference; NaN without one.', registers }),
    realisedRocAuc: new Gauge({ name: 'churn_drift_realised_roc_auc', help: 'Realised ROC-AUC of the last cohort whose labels became final; NaN when a class was absent.', registers }),
    retrainRequests: new Counter({ name: 'churn_drift_retrain_requests_total', help: 'Retrain requests published (committed), by reason (drift, performance, schedule).', labelNames: ['reason'], registers }),
    suppressedRequests: new Gauge({ name: 'churn_drift_suppressed_requests', help: 'Breaching streaks that raised no request because of the cooldown, since the drift state began (restored with it).', registers }),
    watermarkLag: new Gauge({
      name: 'churn_drift_watermark_lag_seconds',
      help: 'Wall-clock time minus the event-time watermark of the last committed batch.',
      registers,
      collect() {
        this.set(Number.isFinite(watermark.value) ? (Date.now() - watermark.value) / 1000 : Number.NaN)
      },
    }),
    openWindows: new Gauge({ name: 'churn_drift_open_windows', help: 'Event-time windows open (not yet closed by the watermark).', registers }),
    snapshotBytes: new Gauge({ name: 'churn_drift_snapshot_bytes', help: 'Size of the last state snapshot written to churn.drift.state.', registers }),
    batchSeconds: new Histogram({ name: 'churn_drift_batch_duration_seconds', help: 'Time to process one batch (decode, windows, evaluation, encoding, snapshot), before its transaction.', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers }),
    watermark,
  }
})

/** What one batch changed, applied to the metrics once its transaction has committed. */
export interface BatchEffects {
  readonly records: ReadonlyMap<string, ReadonlyMap<RecordOutcome, number>>
  readonly windowsClosed: number
  readonly reports: readonly DriftReportRecord[]
  readonly requests: readonly RetrainRequestRecord[]
  /** The champion the drift gauges describe. */
  readonly champion: string | undefined
  readonly suppressedRequests: number
  readonly watermark: number
  readonly openWindows: number
  readonly snapshotBytes: number
}

const orNaN = (value: number | null): number => value ?? Number.NaN

export function recordEffects(metrics: DriftMetrics, effects: BatchEffects): void {
  for (const [topic, outcomes] of effects.records) for (const [outcome, count] of outcomes) metrics.records.inc({ topic, outcome }, count)
  metrics.windowsClosed.inc(effects.windowsClosed)
  for (const report of effects.reports) metrics.reports.inc({ kind: report.kind, breached: String(report.breached) })
  for (const request of effects.requests) metrics.retrainRequests.inc({ reason: request.reason })
  // The gauges show the last closed window (and matured cohort) of the champion, or of any model without one.
  const latest = (kind: DriftReportRecord['kind']): DriftReportRecord | undefined => {
    const ofKind = effects.reports.filter((report) => report.kind === kind)
    return ofKind.findLast((report) => report.model_version === effects.champion) ?? ofKind.at(-1)
  }
  const drift = latest('drift')
  if (drift !== undefined) {
    metrics.featurePsi.reset()
    metrics.featureKs.reset()
    for (const feature of drift.features) {
      metrics.featurePsi.set({ feature: feature.feature }, feature.psi)
      if (feature.ks !== null) metrics.featureKs.set({ feature: feature.feature }, feature.ks)
    }
    metrics.scoreJs.set(orNaN(drift.score_js))
  }
  const performance = latest('performance')
  if (performance !== undefined) metrics.realisedRocAuc.set(orNaN(performance.realised_auc))
  metrics.suppressedRequests.set(effects.suppressedRequests)
  if (Number.isFinite(effects.watermark)) metrics.watermark.value = effects.watermark
  metrics.openWindows.set(effects.openWindows)
  metrics.snapshotBytes.set(effects.snapshotBytes)
}
