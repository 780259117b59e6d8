import { z } from 'zod'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import type { DriftOptions } from './options.js'
import { binIndex, scoreBin } from './statistics.js'
import type { DriftReference } from './types.js'

/** A half-open event-time interval [start, end), epoch ms. */
export interface EventWindow {
  readonly start: number
  readonly end: number
}

export interface WindowAssigner {
  /** The window an event time belongs to. */
  assign(eventTime: number): EventWindow
}

/** Consecutive windows of `sizeMs`, starting at `offsetMs` + k x `sizeMs`. */
export class TumblingWindows implements WindowAssigner {
  readonly sizeMs: number
  readonly offsetMs: number

  constructor(sizeMs: number, offsetMs = 0) {
    if (!(Number.isInteger(sizeMs) && sizeMs > 0)) throw new RangeError(`window size must be a positive integer of ms, got ${sizeMs}`)
    this.sizeMs = sizeMs
    this.offsetMs = ((offsetMs % sizeMs) + sizeMs) % sizeMs
  }

  assign(eventTime: number): EventWindow {
    const start = Math.floor((eventTime - this.offsetMs) / this.sizeMs) * this.sizeMs + this.offsetMs
    return { start, end: start + this.sizeMs }
  }
}

interface InputState {
  /** Newest event time seen on the input; -Infinity before its first record. */
  max: number
  idle: boolean
}

/**
 * The event-time watermark over a set of inputs (topic partitions): the minimum over the active inputs of the newest
 * event time each has seen, minus the allowed lateness. Taking the minimum means a window closes only once every input
 * has moved past its end, so a partition that lags (or a topic that is consumed behind another, as scores behind
 * features) does not have its records dropped as late; an input assigned but not yet read holds the watermark back
 * until it is read or marked idle. The watermark never moves back, not even when an input is added or revoked.
 */
export class WatermarkTracker {
  readonly allowedLatenessMs: number
  readonly #inputs = new Map<string, InputState>()
  #watermark = Number.NEGATIVE_INFINITY
  /** Minimum of `max` over the active inputs, kept so a record on any other input costs O(1). */
  #low = Number.NEGATIVE_INFINITY

  constructor(allowedLatenessMs: number) {
    if (!(allowedLatenessMs >= 0)) throw new RangeError(`allowed lateness must be >= 0, got ${allowedLatenessMs}`)
    this.allowedLatenessMs = allowedLatenessMs
  }

  /** -Infinity until every active input has a record. */
  get watermark(): number {
    return this.#watermark
  }

  /** Inputs to wait for (e.g. partitions assigned after a rebalance); known ones are left as they are. */
  assign(inputs: Iterable<string>): void {
    for (const input of inputs) if (!this.#inputs.has(input)) this.#inputs.set(input, { max: Number.NEGATIVE_INFINITY, idle: false })
    this.#recompute()
  }

  /** Inputs no longer read (revoked partitions): they stop holding the watermark back. */
  release(inputs: Iterable<string>): void {
    for (const input of inputs) this.#inputs.delete(input)
    this.#recompute()
  }

  /**
   * An input with nothing to read (caught up, or empty) stops holding the watermark back until its next record. The
   * caller decides when (e.g. no record for a while of processing time); records it then brings that fall in closed
   * windows are late.
   */
  markIdle(input: string): void {
    const state = this.#inputs.get(input)
    if (state === undefined || state.idle) return
    state.idle = true
    this.#recompute()
  }

  /** A record's event time on an input (an unknown input is assigned). */
  observe(input: string, eventTime: number): void {
    let state = this.#inputs.get(input)
    if (state === undefined) {
      state = { max: Number.NEGATIVE_INFINITY, idle: false }
      this.#inputs.set(input, state)
    }
    const wasLow = state.idle || state.max <= this.#low
    state.idle = false
    if (eventTime > state.max) state.max = eventTime
    if (wasLow) this.#recompute()
  }

  #recompute(): void {
    let low = Number.POSITIVE_INFINITY
    for (const state of this.#inputs.values()) if (!state.idle && state.max < low) low = state.max
    this.#low = low
    if (low !== Number.POSITIVE_INFINITY && low - this.allowedLatenessMs > this.#watermark) this.#watermark = low - this.allowedLatenessMs
  }

  snapshot(): WatermarkSnapshot {
    return {
      watermark: finiteOrNull(this.#watermark),
      inputs: [...this.#inputs].map(([input, state]) => [input, finiteOrNull(state.max), state.idle]),
    }
  }

  static restore(snapshot: WatermarkSnapshot, allowedLatenessMs: number): WatermarkTracker {
    const tracker = new WatermarkTracker(allowedLatenessMs)
    for (const [input, max, idle] of snapshot.inputs) tracker.#inputs.set(input, { max: max ?? Number.NEGATIVE_INFINITY, idle })
    tracker.#recompute()
    tracker.#watermark = snapshot.watermark ?? Number.NEGATIVE_INFINITY
    return tracker
  }
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null
}

/** FNV-1a, 32 bits: a stable hash of a customer id for sampling (the same on every run and process). */
export function customerHash(customerId: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < customerId.length; i++) {
    hash ^= customerId.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

interface Member {
  probability: number
  eventTime: number
  readonly hash: number
}

function before(hash: number, id: string, otherHash: number, otherId: string): boolean {
  return hash < otherHash || (hash === otherHash && id < otherId)
}

/** Scores of a window's customers for delayed-label evaluation, as parallel arrays ordered by customer hash. */
export interface CohortMembers {
  readonly customers: readonly string[]
  readonly probabilities: readonly number[]
  readonly eventTimes: readonly number[]
}

/**
 * A bounded, uniform sample of a window's scored customers: the `capacity` customers with the smallest hash (bottom-k),
 * each with its latest score in the window. Membership depends only on which customers were seen, not on the order, so
 * replaying records after a restart keeps the same customers.
 */
export class CohortSample {
  readonly capacity: number
  readonly #members = new Map<string, Member>()
  #maxId: string | undefined
  #maxHash = -1

  constructor(capacity: number) {
    this.capacity = capacity
  }

  get size(): number {
    return this.#members.size
  }

  /** A score; a later one (by event time, then arrival) replaces a customer's earlier one. */
  add(customerId: string, probability: number, eventTime: number): void {
    const existing = this.#members.get(customerId)
    if (existing !== undefined) {
      if (eventTime >= existing.eventTime) {
        existing.probability = probability
        existing.eventTime = eventTime
      }
      return
    }
    const hash = customerHash(customerId)
    if (this.#members.size < this.capacity) {
      this.#members.set(customerId, { probability, eventTime, hash })
      if (this.#maxId === undefined || before(this.#maxHash, this.#maxId, hash, customerId)) {
        this.#maxId = customerId
        this.#maxHash = hash
      }
      return
    }
    if (this.#maxId === undefined || !before(hash, customerId, this.#maxHash, this.#maxId)) return
    this.#members.delete(this.#maxId)
    this.#members.set(customerId, { probability, eventTime, hash })
    this.#maxId = undefined
    for (const [id, member] of this.#members) {
      if (this.#maxId === undefined || before(this.#maxHash, this.#maxId, member.hash, id)) {
        this.#maxId = id
        this.#maxHash = member.hash
      }
    }
  }

  members(): CohortMembers {
    const ordered = [...this.#members].sort(([a, x], [b, y]) => (before(x.hash, a, y.hash, b) ? -1 : 1))
    return {
      customers: ordered.map(([id]) => id),
      probabilities: ordered.map(([, member]) => member.probability),
      eventTimes: ordered.map(([, member]) => member.eventTime),
    }
  }

  static from(capacity: number, members: CohortMembers): CohortSample {
    const sample = new CohortSample(capacity)
    members.customers.forEach((id, i) => { sample.add(id, members.probabilities[i] ?? Number.NaN, members.eventTimes[i] ?? 0) })
    return sample
  }
}

/** A feature vector of `customer.features`. */
export interface FeatureVectorInput {
  readonly customerId: string
  /** Event time of the newest input behind the vector (`newest_event_time`). */
  readonly eventTime: number
  readonly featureSetVersion: string
  /** In feature-set order; NaN where a feature has no value. */
  readonly values: ArrayLike<number>
}

/** A score of `churn.scores`. */
export interface ScoreInput {
  readonly customerId: string
  /** `source_event_time`: the event time of the features scored. */
  readonly eventTime: number
  readonly probability: number
  readonly modelVersion: string
}

/**
 * What became of a record: counted in its window; `late` (its window had closed: counted, not silently lost);
 * `skipped` (no reference yet, or features of another feature set or length than the window's reference); `invalid`
 * (event time not finite, probability not in [0, 1]).
 */
export type AddOutcome = 'accepted' | 'late' | 'skipped' | 'invalid'

export interface RecordCounters {
  accepted: number
  late: number
  skipped: number
  invalid: number
}

export interface WindowCounters {
  readonly features: Readonly<RecordCounters>
  readonly scores: Readonly<RecordCounters>
}

export interface ScoreAccumulation {
  readonly count: number
  /** Counts on `scoreBins` equal-width bins of [0, 1]. */
  readonly histogram: readonly number[]
  readonly cohort: CohortMembers
}

/** A window whose end the watermark has reached, with everything it accumulated. */
export interface ClosedWindow extends EventWindow {
  /** The reference its feature vectors were binned on (the current one when it opened); undefined when there was none. */
  readonly reference: DriftReference | undefined
  /** Feature vectors binned. */
  readonly records: number
  /** Per feature of `reference.features`: counts in its edges.length + 1 value bins, then the missing count. */
  readonly featureCounts: readonly (readonly number[])[]
  /** Per model version. */
  readonly scores: ReadonlyMap<string, ScoreAccumulation>
  /**
   * Feature vectors and scores dropped as late that this window accounts for: a late record counts towards the first
   * window (in event time) whose start is at or after the window the watermark was in when the record arrived, i.e.
   * the next window to close. Which window that is depends only on the records, never on when windows are taken.
   */
  readonly lateRecords: number
}

interface ScoreState {
  count: number
  readonly histogram: number[]
  readonly cohort: CohortSample
}

interface WindowState extends EventWindow {
  reference: DriftReference | undefined
  records: number
  counts: Float64Array
  offsets: number[]
  readonly scores: Map<string, ScoreState>
}

function layout(reference: DriftReference | undefined): { offsets: number[]; size: number } {
  const offsets: number[] = []
  let size = 0
  for (const feature of reference?.features ?? []) {
    offsets.push(size)
    size += feature.edges.length + 2
  }
  return { offsets, size }
}

export type DriftWindowsOptions = Pick<DriftOptions, 'windowMs' | 'windowOffsetMs' | 'allowedLatenessMs' | 'scoreBins' | 'cohortSampleSize'>

const newCounters = (): RecordCounters => ({ accepted: 0, late: 0, skipped: 0, invalid: 0 })

/**
 * The window state of the drift role: event-time tumbling windows over feature vectors and scores, a watermark over
 * the inputs, and per window the feature histograms on the reference's edges (with missing counts), a score histogram
 * and a cohort of scores per model version.
 *
 * Whether a record is accepted or late depends only on the records before it, never on when `takeClosed` is called, so
 * a restored snapshot that is fed the records after its offsets reaches the state an uninterrupted run would have.
 */
export class DriftWindows {
  readonly assigner: TumblingWindows
  readonly #options: DriftWindowsOptions
  readonly #watermarks: WatermarkTracker
  readonly #windows = new Map<number, WindowState>()
  #reference: DriftReference | undefined
  readonly #features = newCounters()
  readonly #scores = newCounters()
  /** Late records not yet accounted to a closed window, by the start of the window the watermark was in. */
  readonly #late = new Map<number, number>()

  constructor(options: DriftWindowsOptions, reference?: DriftReference, watermarks?: WatermarkTracker) {
    this.#options = options
    this.assigner = new TumblingWindows(options.windowMs, options.windowOffsetMs)
    this.#watermarks = watermarks ?? new WatermarkTracker(options.allowedLatenessMs)
    this.#reference = reference
  }

  get watermark(): number {
    return this.#watermarks.watermark
  }

  /** The reference new windows are binned on. */
  get reference(): DriftReference | undefined {
    return this.#reference
  }

  /**
   * Switches the reference (a new champion). Windows that already binned vectors keep theirs, so each window's
   * histograms stay on one set of edges.
   */
  setReference(reference: DriftReference | undefined): void {
    this.#reference = reference
  }

  /** Models whose reference is current or binned an open window. */
  referenceVersions(): Set<string> {
    const versions = new Set<string>()
    if (this.#reference !== undefined) versions.add(this.#reference.modelVersion)
    for (const window of this.#windows.values()) if (window.reference !== undefined) versions.add(window.reference.modelVersion)
    return versions
  }

  get openWindows(): number {
    return this.#windows.size
  }

  get counters(): WindowCounters {
    return { features: { ...this.#features }, scores: { ...this.#scores } }
  }

  assignInputs(inputs: Iterable<string>): void {
    this.#watermarks.assign(inputs)
  }

  releaseInputs(inputs: Iterable<string>): void {
    this.#watermarks.release(inputs)
  }

  markIdle(input: string): void {
    this.#watermarks.markIdle(input)
  }

  /** A record that only moves time on an input (e.g. a customer event read for its cancellations). */
  observe(input: string, eventTime: number): void {
    if (Number.isFinite(eventTime)) this.#watermarks.observe(input, eventTime)
  }

  /** Whether a record at `eventTime` would fall in a window that has closed. */
  isLate(eventTime: number): boolean {
    return this.assigner.assign(eventTime).end <= this.#watermarks.watermark
  }

  #window(eventTime: number, input: string, counters: RecordCounters): WindowState | undefined {
    if (!Number.isFinite(eventTime)) {
      counters.invalid++
      return undefined
    }
    const late = this.isLate(eventTime)
    if (late) {
      const key = this.assigner.assign(this.#watermarks.watermark).start
      this.#late.set(key, (this.#late.get(key) ?? 0) + 1)
    }
    this.#watermarks.observe(input, eventTime)
    if (late) {
      counters.late++
      return undefined
    }
    const { start, end } = this.assigner.assign(eventTime)
    let window = this.#windows.get(start)
    if (window === undefined) {
      window = { start, end, reference: undefined, records: 0, counts: new Float64Array(0), offsets: [], scores: new Map() }
      this.#adoptReference(window)
      this.#windows.set(start, window)
    }
    return window
  }

  /** A window takes the current reference when it opens, or when one is first set while it is open. */
  #adoptReference(window: WindowState): void {
    if (window.reference !== undefined || this.#reference === undefined) return
    window.reference = this.#reference
    const { offsets, size } = layout(this.#reference)
    window.offsets = offsets
    window.counts = new Float64Array(size)
  }

  addFeatures(input: string, vector: FeatureVectorInput): AddOutcome {
    const window = this.#window(vector.eventTime, input, this.#features)
    if (window === undefined) return Number.isFinite(vector.eventTime) ? 'late' : 'invalid'
    this.#adoptReference(window)
    const reference = window.reference
    if (reference?.featureSetVersion !== vector.featureSetVersion || vector.values.length !== reference.featureCount) {
      this.#features.skipped++
      return 'skipped'
    }
    const { counts, offsets } = window
    const { features } = reference
    const { values } = vector
    for (let f = 0; f < features.length; f++) {
      const feature = features[f]
      if (feature === undefined) continue
      const slot = (offsets[f] ?? 0) + binIndex(feature.edges, values[feature.index] ?? Number.NaN)
      counts[slot] = (counts[slot] ?? 0) + 1
    }
    window.records++
    this.#features.accepted++
    return 'accepted'
  }

  addScore(input: string, score: ScoreInput): AddOutcome {
    if (!(score.probability >= 0 && score.probability <= 1)) {
      if (Number.isFinite(score.eventTime)) this.#watermarks.observe(input, score.eventTime)
      this.#scores.invalid++
      return 'invalid'
    }
    const window = this.#window(score.eventTime, input, this.#scores)
    if (window === undefined) return Number.isFinite(score.eventTime) ? 'late' : 'invalid'
    let state = window.scores.get(score.modelVersion)
    if (state === undefined) {
      state = { count: 0, histogram: new Array<number>(this.#options.scoreBins).fill(0), cohort: new CohortSample(this.#options.cohortSampleSize) }
      window.scores.set(score.modelVersion, state)
    }
    state.count++
    const bin = scoreBin(score.probability, this.#options.scoreBins)
    state.histogram[bin] = (state.histogram[bin] ?? 0) + 1
    state.cohort.add(score.customerId, score.probability, score.eventTime)
    this.#scores.accepted++
    return 'accepted'
  }

  /** Removes and returns the windows the watermark has closed, oldest first. */
  takeClosed(): ClosedWindow[] {
    const watermark = this.#watermarks.watermark
    const closed = [...this.#windows.values()].filter((window) => window.end <= watermark).sort((a, b) => a.start - b.start)
    for (const window of closed) this.#windows.delete(window.start)
    return closed.map((window) => ({
      start: window.start,
      end: window.end,
      reference: window.reference,
      records: window.records,
      lateRecords: this.#takeLate(window.end),
      featureCounts: featureCounts(window),
      scores: new Map([...window.scores].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([version, state]) => [
        version,
        { count: state.count, histogram: [...state.histogram], cohort: state.cohort.members() },
      ])),
    }))
  }

  /** Late records waiting for a window that ends at `end`: those that arrived while the watermark was before it. */
  #takeLate(end: number): number {
    let late = 0
    for (const [key, count] of this.#late) {
      if (key >= end) continue
      late += count
      this.#late.delete(key)
    }
    return late
  }

  snapshot(): WindowsSnapshot {
    const references = new Map<string, DriftReference>()
    if (this.#reference !== undefined) references.set(this.#reference.modelVersion, this.#reference)
    const windows = [...this.#windows.values()].sort((a, b) => a.start - b.start)
    for (const window of windows) if (window.reference !== undefined) references.set(window.reference.modelVersion, window.reference)
    return {
      format: WINDOWS_SNAPSHOT_FORMAT,
      windowMs: this.#options.windowMs,
      windowOffsetMs: this.assigner.offsetMs,
      scoreBins: this.#options.scoreBins,
      ...this.#watermarks.snapshot(),
      counters: { features: { ...this.#features }, scores: { ...this.#scores } },
      late: [...this.#late].sort(([a], [b]) => a - b),
      reference: this.#reference?.modelVersion ?? null,
      references: [...references.values()].map(plainReference),
      windows: windows.map((window) => ({
        start: window.start,
        reference: window.reference?.modelVersion ?? null,
        records: window.records,
        counts: featureCounts(window),
        scores: [...window.scores].map(([modelVersion, state]) => ({
          modelVersion,
          count: state.count,
          histogram: [...state.histogram],
          cohort: plainCohort(state.cohort.members()),
        })),
      })),
    }
  }

  /** The state a snapshot was taken of; throws when it is malformed or was taken with other window options. */
  static restore(input: unknown, options: DriftWindowsOptions): DriftWindows {
    const snapshot = parseSnapshot(windowsSnapshotSchema, input, 'window')
    const offset = new TumblingWindows(options.windowMs, options.windowOffsetMs).offsetMs
    if (snapshot.windowMs !== options.windowMs || snapshot.windowOffsetMs !== offset || snapshot.scoreBins !== options.scoreBins) {
      throw new ChurnError(
        ErrorCodes.CONFIG_INVALID,
        `window snapshot was taken with windowMs ${snapshot.windowMs}, windowOffsetMs ${snapshot.windowOffsetMs}, scoreBins ${snapshot.scoreBins}; ` +
          `the options say ${options.windowMs}, ${offset}, ${options.scoreBins}: its windows cannot be continued`,
      )
    }
    const references = new Map(snapshot.references.map((reference) => [reference.modelVersion, reference as DriftReference]))
    const lookup = (version: string | null): DriftReference | undefined => {
      if (version === null) return undefined
      const reference = references.get(version)
      if (reference === undefined) throw new ChurnError(ErrorCodes.VALIDATION, `window snapshot: reference ${version} is missing`)
      return reference
    }
    const windows = new DriftWindows(options, lookup(snapshot.reference), WatermarkTracker.restore(snapshot, options.allowedLatenessMs))
    Object.assign(windows.#features, snapshot.counters.features)
    Object.assign(windows.#scores, snapshot.counters.scores)
    for (const [key, count] of snapshot.late) windows.#late.set(key, count)
    for (const saved of snapshot.windows) {
      const reference = lookup(saved.reference)
      const { offsets, size } = layout(reference)
      const counts = new Float64Array(size)
      if (saved.counts.length !== offsets.length) throw new ChurnError(ErrorCodes.VALIDATION, `window snapshot: window ${saved.start} has ${saved.counts.length} features for ${offsets.length}`)
      saved.counts.forEach((featureCounts, f) => { counts.set(featureCounts.slice(0, (reference?.features[f]?.edges.length ?? 0) + 2), offsets[f] ?? 0) })
      const scores = new Map<string, ScoreState>()
      for (const state of saved.scores) {
        scores.set(state.modelVersion, { count: state.count, histogram: [...state.histogram], cohort: CohortSample.from(options.cohortSampleSize, state.cohort) })
      }
      windows.#windows.set(saved.start, { start: saved.start, end: saved.start + options.windowMs, reference, records: saved.records, counts, offsets, scores })
    }
    return windows
  }
}

function plainCohort(members: CohortMembers): { customers: string[]; probabilities: number[]; eventTimes: number[] } {
  return { customers: [...members.customers], probabilities: [...members.probabilities], eventTimes: [...members.eventTimes] }
}

function plainReference(reference: DriftReference): WindowsSnapshot['references'][number] {
  const { scoreFrequencies, ...rest } = reference
  return {
    ...rest,
    features: reference.features.map((feature) => ({ ...feature, edges: [...feature.edges], frequencies: [...feature.frequencies] })),
    ...(scoreFrequencies === undefined ? {} : { scoreFrequencies: [...scoreFrequencies] }),
  }
}

function featureCounts(window: WindowState): number[][] {
  return (window.reference?.features ?? []).map((feature, f) => {
    const offset = window.offsets[f] ?? 0
    return Array.from(window.counts.subarray(offset, offset + feature.edges.length + 2))
  })
}

export const WINDOWS_SNAPSHOT_FORMAT = 1

const finite = z.number().refine(Number.isFinite, 'expected a finite number')
const count = z.number().int().min(0)

export const cohortMembersSchema = z.object({
  customers: z.array(z.string()),
  probabilities: z.array(z.number().min(0).max(1)),
  eventTimes: z.array(finite),
}).refine((cohort) => cohort.customers.length === cohort.probabilities.length && cohort.customers.length === cohort.eventTimes.length, 'cohort arrays differ in length')

export const driftReferenceSchema = z.object({
  modelVersion: z.string(),
  featureSetVersion: z.string(),
  featureCount: count,
  features: z.array(z.object({
    name: z.string(),
    index: count,
    kind: z.enum(['numeric', 'categorical']),
    edges: z.array(finite),
    frequencies: z.array(z.number().min(0)),
    missingFraction: z.number().min(0).max(1),
    count: z.number().min(0),
  })),
  scoreFrequencies: z.array(z.number().min(0)).optional(),
  holdoutAuc: finite.optional(),
  holdoutCalibrationError: finite.optional(),
})

const recordCountersSchema = z.object({ accepted: count, late: count, skipped: count, invalid: count })

const windowsSnapshotSchema = z.object({
  format: z.literal(WINDOWS_SNAPSHOT_FORMAT),
  windowMs: z.number().int().positive(),
  windowOffsetMs: z.number().int().min(0),
  scoreBins: z.number().int().positive(),
  watermark: finite.nullable(),
  inputs: z.array(z.tuple([z.string(), finite.nullable(), z.boolean()])),
  counters: z.object({ features: recordCountersSchema, scores: recordCountersSchema }),
  /** Absent in snapshots taken before reports carried late records. */
  late: z.array(z.tuple([finite, count])).default([]),
  reference: z.string().nullable(),
  references: z.array(driftReferenceSchema),
  windows: z.array(z.object({
    start: finite,
    reference: z.string().nullable(),
    records: count,
    counts: z.array(z.array(z.number().min(0))),
    scores: z.array(z.object({ modelVersion: z.string(), count, histogram: z.array(z.number().min(0)), cohort: cohortMembersSchema })),
  })),
})

/** JSON-able state of `DriftWindows`: the role stores it atomically with the offsets it has consumed up to. */
export type WindowsSnapshot = z.output<typeof windowsSnapshotSchema>

export interface WatermarkSnapshot {
  /** Null before the watermark is defined. */
  watermark: number | null
  /** [input, newest event time (null before its first record), idle]. */
  inputs: [string, number | null, boolean][]
}

/** Validates a snapshot read back from storage. */
export function parseSnapshot<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input)
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(snapshot)'}: ${issue.message}`)
    throw new ChurnError(ErrorCodes.VALIDATION, `${what} snapshot is malformed: ${problems.join('; ')}`, { details: { problems } })
  }
  return parsed.data
}
