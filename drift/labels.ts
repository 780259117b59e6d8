import { z } from 'zod'
import { expectedCalibrationError, rocAuc } from '../trainer/evaluation/index.js'
import type { DriftOptions } from './options.js'
import { TumblingWindows, cohortMembersSchema, parseSnapshot, type CohortMembers } from './windows.js'

/** The scores one model emitted in one window, waiting for their labels. */
export interface Cohort {
  readonly windowStart: number
  readonly windowEnd: number
  readonly modelVersion: string
  readonly featureSetVersion: string
  /** Scores of the model in the window (the members are a sample of its customers). */
  readonly scored: number
  readonly members: CohortMembers
  readonly holdoutAuc: number | null
  readonly holdoutCalibrationError: number | null
}

/** A cohort whose label horizon has passed, with its realised performance. */
export interface MaturedCohort {
  readonly cohort: Cohort
  /** windowEnd + horizon: from here on no cancellation can change a label. */
  readonly maturedAt: number
  readonly labelled: number
  readonly positives: number
  /** Null when the cohort is empty or a class is absent. */
  readonly rocAuc: number | null
  readonly calibrationError: number | null
}

export type LabelOutcome = 'accepted' | 'late' | 'invalid'

export type LabelTrackerOptions = Pick<DriftOptions, 'labelHorizonMs' | 'calibrationBins' | 'windowMs' | 'windowOffsetMs'>

/**
 * Delayed labels: a score at event time s is a positive when its customer cancels at t with s < t <= s + horizon (the
 * training label's definition, feature-store/offline/training-set.ts). A cohort is evaluated once the watermark reaches
 * its window end + horizon. A cancellation counts for a cohort only if it arrived before the watermark reached that
 * point (not merely before the cohort happened to be evaluated), so labels do not depend on when `mature` is called;
 * one that arrives after every cohort it could label has matured is counted as late. Cancellations are kept until no
 * open or pending cohort can use them.
 *
 * Feed the cohorts of windows closed at a watermark before calling `mature` with it (as `DriftMonitor.poll` does).
 */
export class LabelTracker {
  readonly #options: LabelTrackerOptions
  readonly #assigner: TumblingWindows
  #cohorts: Cohort[] = []
  /** Per customer: [event time, watermark when it arrived] of each cancellation. */
  readonly #cancellations = new Map<string, [number, number][]>()
  readonly #counters = { accepted: 0, late: 0, invalid: 0 }

  constructor(options: LabelTrackerOptions) {
    this.#options = options
    this.#assigner = new TumblingWindows(options.windowMs, options.windowOffsetMs)
  }

  get pendingCohorts(): number {
    return this.#cohorts.length
  }

  get counters(): { readonly accepted: number; readonly late: number; readonly invalid: number } {
    return { ...this.#counters }
  }

  /** Customers with a cancellation kept. */
  get cancelledCustomers(): number {
    return this.#cancellations.size
  }

  /** Models with a cohort waiting. */
  modelVersions(): Set<string> {
    return new Set(this.#cohorts.map((cohort) => cohort.modelVersion))
  }

  addCohort(cohort: Cohort): void {
    this.#cohorts.push(cohort)
  }

  /** The last event time at which a cancellation at `eventTime` can still change a label. */
  #usefulUntil(eventTime: number): number {
    return this.#assigner.assign(eventTime).end + this.#options.labelHorizonMs
  }

  /** A cancellation; `watermark` is the current one (before this record's own time is observed). */
  addCancellation(customerId: string, eventTime: number, watermark: number): LabelOutcome {
    if (!Number.isFinite(eventTime)) {
      this.#counters.invalid++
      return 'invalid'
    }
    if (this.#usefulUntil(eventTime) <= watermark) {
      this.#counters.late++
      return 'late'
    }
    const seen = this.#cancellations.get(customerId)
    if (seen === undefined) this.#cancellations.set(customerId, [[eventTime, watermark]])
    else if (!seen.some(([time]) => time === eventTime)) seen.push([eventTime, watermark])
    this.#counters.accepted++
    return 'accepted'
  }

  /** Evaluates and removes the cohorts whose horizon the watermark has passed, oldest first. */
  mature(watermark: number): MaturedCohort[] {
    const horizon = this.#options.labelHorizonMs
    const ready = this.#cohorts.filter((cohort) => cohort.windowEnd + horizon <= watermark)
    if (ready.length > 0) this.#cohorts = this.#cohorts.filter((cohort) => cohort.windowEnd + horizon > watermark)
    ready.sort((a, b) => a.windowEnd - b.windowEnd || (a.modelVersion < b.modelVersion ? -1 : a.modelVersion > b.modelVersion ? 1 : 0))
    const matured = ready.map((cohort) => this.#evaluate(cohort))
    for (const [customer, seen] of this.#cancellations) {
      const kept = seen.filter(([time]) => this.#usefulUntil(time) > watermark)
      if (kept.length === 0) this.#cancellations.delete(customer)
      else if (kept.length !== seen.length) this.#cancellations.set(customer, kept)
    }
    return matured
  }

  #evaluate(cohort: Cohort): MaturedCohort {
    const horizon = this.#options.labelHorizonMs
    const { customers, probabilities, eventTimes } = cohort.members
    const maturedAt = cohort.windowEnd + horizon
    const labels = new Float64Array(customers.length)
    let positives = 0
    customers.forEach((customer, i) => {
      const scoredAt = eventTimes[i] ?? 0
      const cancelled = this.#cancellations.get(customer)?.some(([time, arrival]) => time > scoredAt && time <= scoredAt + horizon && arrival < maturedAt) === true
      if (cancelled) {
        labels[i] = 1
        positives++
      }
    })
    if (customers.length === 0) return { cohort, maturedAt, labelled: 0, positives: 0, rocAuc: null, calibrationError: null }
    const auc = rocAuc(labels, probabilities)
    return {
      cohort,
      maturedAt,
      labelled: customers.length,
      positives,
      rocAuc: Number.isNaN(auc) ? null : auc,
      calibrationError: expectedCalibrationError(labels, probabilities, this.#options.calibrationBins),
    }
  }

  snapshot(): LabelsSnapshot {
    return {
      format: LABELS_SNAPSHOT_FORMAT,
      labelHorizonMs: this.#options.labelHorizonMs,
      cohorts: this.#cohorts.map((cohort) => ({ ...cohort, members: { customers: [...cohort.members.customers], probabilities: [...cohort.members.probabilities], eventTimes: [...cohort.members.eventTimes] } })),
      // Sorted, so equal states give equal snapshots whatever the order customers were pruned and seen again in.
      cancellations: [...this.#cancellations]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([customer, seen]) => [customer, [...seen].sort(([x], [y]) => x - y).map(([time, arrival]) => [time, Number.isFinite(arrival) ? arrival : null])]),
      counters: { ...this.#counters },
    }
  }

  /** The state a snapshot was taken of. A changed horizon applies to the restored cohorts too. */
  static restore(input: unknown, options: LabelTrackerOptions): LabelTracker {
    const snapshot = parseSnapshot(labelsSnapshotSchema, input, 'label')
    const tracker = new LabelTracker(options)
    tracker.#cohorts = snapshot.cohorts
    for (const [customer, seen] of snapshot.cancellations) {
      tracker.#cancellations.set(customer, seen.map(([time, arrival]) => [time, arrival ?? Number.NEGATIVE_INFINITY]))
    }
    Object.assign(tracker.#counters, snapshot.counters)
    return tracker
  }
}

export const LABELS_SNAPSHOT_FORMAT = 1

const finite = z.number().refine(Number.isFinite, 'expected a finite number')
const count = z.number().int().min(0)

const labelsSnapshotSchema = z.object({
  format: z.literal(LABELS_SNAPSHOT_FORMAT),
  labelHorizonMs: z.number().int().positive(),
  cohorts: z.array(z.object({
    windowStart: finite,
    windowEnd: finite,
    modelVersion: z.string(),
    featureSetVersion: z.string(),
    scored: count,
    members: cohortMembersSchema,
    holdoutAuc: finite.nullable(),
    holdoutCalibrationError: finite.nullable(),
  })),
  /** [customer, [event time, watermark at arrival (null: none yet)][]]. */
  cancellations: z.array(z.tuple([z.string(), z.array(z.tuple([finite, finite.nullable()]))])),
  counters: z.object({ accepted: count, late: count, invalid: count }),
})

/**
 * JSON-able state of `LabelTracker`. Cohorts are immutable once added, so a role that finds the snapshot large can
 * store them apart (one compacted record per cohort) and checkpoint only the cancellations often.
 */
export type LabelsSnapshot = z.output<typeof labelsSnapshotSchema>
