import { z } from 'zod'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { evaluatePerformance, evaluateWindow, performanceReport, windowReport } from './evaluation.js'
import { LabelTracker, type LabelOutcome } from './labels.js'
import type { DriftOptions } from './options.js'
import { RetrainPolicy, evaluationTime } from './policy.js'
import type { DriftReference, DriftReportRecord, Evaluation, RetrainRequestRecord } from './types.js'
import { DriftWindows, parseSnapshot, type AddOutcome, type FeatureVectorInput, type ScoreInput, type WindowCounters } from './windows.js'

/** What one `poll` produced, in event-time order. */
export interface DriftOutput {
  /** To `churn.drift.reports`, keyed by model version. */
  readonly reports: DriftReportRecord[]
  /** To `churn.retrain.requests`. */
  readonly requests: RetrainRequestRecord[]
  readonly evaluations: Evaluation[]
  /** Windows the watermark closed, with or without a reference to evaluate them on. */
  readonly windowsClosed: number
}

export interface CancellationInput {
  readonly customerId: string
  readonly eventTime: number
}

interface ModelFacts {
  readonly featureSetVersion: string
  readonly holdoutAuc: number | null
  readonly holdoutCalibrationError: number | null
}

function facts(reference: DriftReference): ModelFacts {
  return { featureSetVersion: reference.featureSetVersion, holdoutAuc: reference.holdoutAuc ?? null, holdoutCalibrationError: reference.holdoutCalibrationError ?? null }
}

/**
 * The drift role without its transport: records in, reports and retrain requests out, and a snapshot of everything in
 * between. The role feeds each consumed record to `addFeatures`, `addScore`, `addCancellation` (or `observe`, for other
 * records of a watermark input), calls `poll` after a batch, publishes what it returns, and stores `snapshot()` with the
 * consumed offsets in one atomic write; after a crash it restores the snapshot and consumes from those offsets. Report
 * and request ids are derived from their content, so output published again between a publish and its checkpoint is a
 * recognisable duplicate.
 *
 * Only evaluations of the current reference's model feed the retrain policy (a retired champion's drift is no reason
 * to retrain); reports are published for every model.
 */
export class DriftMonitor {
  readonly #options: DriftOptions
  readonly #windows: DriftWindows
  readonly #labels: LabelTracker
  readonly #policy: RetrainPolicy
  /** Score histograms of the first well-filled window of models whose metadata has no score distribution. */
  readonly #baselines = new Map<string, number[]>()
  readonly #models = new Map<string, ModelFacts>()

  constructor(options: DriftOptions, reference?: DriftReference, state?: { windows: DriftWindows; labels: LabelTracker; policy: RetrainPolicy }) {
    this.#options = options
    this.#windows = state?.windows ?? new DriftWindows(options, reference)
    this.#labels = state?.labels ?? new LabelTracker(options)
    this.#policy = state?.policy ?? new RetrainPolicy(options)
    if (reference !== undefined) this.#models.set(reference.modelVersion, facts(reference))
  }

  get watermark(): number {
    return this.#windows.watermark
  }

  get reference(): DriftReference | undefined {
    return this.#windows.reference
  }

  get counters(): WindowCounters & { readonly labels: LabelTracker['counters']; readonly suppressedRequests: number; readonly openWindows: number; readonly pendingCohorts: number } {
    return {
      ...this.#windows.counters,
      labels: this.#labels.counters,
      suppressedRequests: this.#policy.suppressed,
      openWindows: this.#windows.openWindows,
      pendingCohorts: this.#labels.pendingCohorts,
    }
  }

  /** A new champion: windows opened from now on are compared with it. */
  setReference(reference: DriftReference): void {
    this.#windows.setReference(reference)
    this.#models.set(reference.modelVersion, facts(reference))
  }

  assignInputs(inputs: Iterable<string>): void {
    this.#windows.assignInputs(inputs)
  }

  releaseInputs(inputs: Iterable<string>): void {
    this.#windows.releaseInputs(inputs)
  }

  markIdle(input: string): void {
    this.#windows.markIdle(input)
  }

  observe(input: string, eventTime: number): void {
    this.#windows.observe(input, eventTime)
  }

  addFeatures(input: string, vector: FeatureVectorInput): AddOutcome {
    return this.#windows.addFeatures(input, vector)
  }

  addScore(input: string, score: ScoreInput): AddOutcome {
    return this.#windows.addScore(input, score)
  }

  addCancellation(input: string, cancellation: CancellationInput): LabelOutcome {
    const outcome = this.#labels.addCancellation(cancellation.customerId, cancellation.eventTime, this.#windows.watermark)
    this.#windows.observe(input, cancellation.eventTime)
    return outcome
  }

  /** Closes the windows and cohorts the watermark has passed; `now` (processing time) stamps the output. */
  poll(now: number): DriftOutput {
    const watermark = this.#windows.watermark
    const evaluations: Evaluation[] = []
    const closed = this.#windows.takeClosed()
    for (const window of closed) {
      for (const [modelVersion, scores] of window.scores) {
        const model = this.#models.get(modelVersion)
        const featureSetVersion = model?.featureSetVersion ?? window.reference?.featureSetVersion
        if (featureSetVersion === undefined) continue
        this.#labels.addCohort({
          windowStart: window.start,
          windowEnd: window.end,
          modelVersion,
          featureSetVersion,
          scored: scores.count,
          members: scores.cohort,
          holdoutAuc: model?.holdoutAuc ?? null,
          holdoutCalibrationError: model?.holdoutCalibrationError ?? null,
        })
      }
      const reference = window.reference
      if (reference === undefined) continue
      const evaluation = evaluateWindow(window, reference.scoreFrequencies ?? this.#baselines.get(reference.modelVersion), this.#options)
      if (evaluation !== undefined) evaluations.push(evaluation)
      const scores = window.scores.get(reference.modelVersion)
      if (reference.scoreFrequencies === undefined && !this.#baselines.has(reference.modelVersion) && scores !== undefined && scores.count >= this.#options.minScores) {
        this.#baselines.set(reference.modelVersion, [...scores.histogram])
      }
    }
    for (const matured of this.#labels.mature(watermark)) evaluations.push(evaluatePerformance(matured, this.#options))
    evaluations.sort((a, b) => evaluationTime(a) - evaluationTime(b) || (a.kind === b.kind ? 0 : a.kind === 'drift' ? -1 : 1) || a.windowStart - b.windowStart)

    const current = this.#windows.reference?.modelVersion ?? null
    const reports: DriftReportRecord[] = []
    const requests: RetrainRequestRecord[] = []
    for (const evaluation of evaluations) {
      requests.push(...this.#policy.advance(evaluationTime(evaluation), current, now))
      reports.push(evaluation.kind === 'drift' ? windowReport(evaluation, now) : performanceReport(evaluation, now))
      if (evaluation.modelVersion !== current) continue
      const { request } = this.#policy.observe(evaluation, now)
      if (request !== undefined) requests.push(request)
    }
    if (Number.isFinite(watermark)) requests.push(...this.#policy.advance(watermark, current, now))
    this.#prune()
    return { reports, requests, evaluations, windowsClosed: closed.length }
  }

  /** Forgets models nothing refers to any more. */
  #prune(): void {
    const used = new Set([...this.#labels.modelVersions(), ...this.#windows.referenceVersions()])
    for (const version of this.#models.keys()) if (!used.has(version)) this.#models.delete(version)
    for (const version of this.#baselines.keys()) if (!used.has(version)) this.#baselines.delete(version)
  }

  snapshot(): DriftSnapshot {
    return {
      format: DRIFT_SNAPSHOT_FORMAT,
      windows: this.#windows.snapshot(),
      labels: this.#labels.snapshot(),
      policy: this.#policy.snapshot(),
      baselines: [...this.#baselines].map(([version, histogram]) => [version, [...histogram]]),
      models: [...this.#models].map(([version, model]) => ({ modelVersion: version, ...model })),
    }
  }

  /** The monitor a snapshot was taken of; throws `VALIDATION` when it is malformed, `CONFIG_INVALID` when the window options changed. */
  static restore(input: unknown, options: DriftOptions): DriftMonitor {
    const snapshot = parseSnapshot(driftSnapshotSchema, input, 'drift')
    const windows = DriftWindows.restore(snapshot.windows, options)
    const monitor = new DriftMonitor(options, undefined, {
      windows,
      labels: LabelTracker.restore(snapshot.labels, options),
      policy: RetrainPolicy.restore(snapshot.policy, options),
    })
    for (const model of snapshot.models) {
      monitor.#models.set(model.modelVersion, { featureSetVersion: model.featureSetVersion, holdoutAuc: model.holdoutAuc, holdoutCalibrationError: model.holdoutCalibrationError })
    }
    for (const [version, histogram] of snapshot.baselines) {
      if (histogram.length !== options.scoreBins) throw new ChurnError(ErrorCodes.CONFIG_INVALID, `drift snapshot: score baseline of ${version} has ${histogram.length} bins, the options ${options.scoreBins}`)
      monitor.#baselines.set(version, histogram)
    }
    return monitor
  }
}

export const DRIFT_SNAPSHOT_FORMAT = 1

const driftSnapshotSchema = z.object({
  format: z.literal(DRIFT_SNAPSHOT_FORMAT),
  windows: z.unknown(),
  labels: z.unknown(),
  policy: z.unknown(),
  baselines: z.array(z.tuple([z.string(), z.array(z.number().min(0))])),
  models: z.array(z.object({
    modelVersion: z.string(),
    featureSetVersion: z.string(),
    holdoutAuc: z.number().nullable(),
    holdoutCalibrationError: z.number().nullable(),
  })),
})

/** JSON-able state of `DriftMonitor`: store it atomically with the consumed offsets. */
export interface DriftSnapshot {
  readonly format: typeof DRIFT_SNAPSHOT_FORMAT
  readonly windows: ReturnType<DriftWindows['snapshot']>
  readonly labels: ReturnType<LabelTracker['snapshot']>
  readonly policy: ReturnType<RetrainPolicy['snapshot']>
  readonly baselines: readonly (readonly [string, readonly number[]])[]
  readonly models: readonly { readonly modelVersion: string; readonly featureSetVersion: string; readonly holdoutAuc: number | null; readonly holdoutCalibrationError: number | null }[]
}
