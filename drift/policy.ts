import { z } from 'zod'
import type { DriftOptions } from './options.js'
import type { Breach, Evaluation, EvidenceRecord, RetrainRequestRecord } from './types.js'
import { parseSnapshot } from './windows.js'

export type RetrainPolicyOptions = Pick<DriftOptions, 'consecutiveWindows' | 'cooldownMs' | 'scheduleEveryMs'>

interface StreakEntry {
  readonly windowStart: number
  readonly windowEnd: number
  readonly breaches: readonly Breach[]
}

interface Streak {
  modelVersion: string | null
  entries: StreakEntry[]
}

/** Why an evaluation raised no request. */
export type PolicyOutcome = 'requested' | 'not_evaluable' | 'no_breach' | 'streak' | 'cooldown' | 'duplicate'

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * The request id: what the request is about (reason, model, first breaching window), so the same streak seen again after
 * a restart, or by a second replica, gives the same id and the trainer drops the copy.
 */
export function retrainRequestId(reason: 'drift' | 'performance', modelVersion: string, firstWindowStart: number): string {
  return `${reason}:${modelVersion}:${iso(firstWindowStart)}`
}

export function scheduleRequestId(tick: number): string {
  return `schedule:${iso(tick)}`
}

/** Event time an evaluation stands at: a window's end, or the time a cohort's labels became final. */
export function evaluationTime(evaluation: Evaluation): number {
  return evaluation.kind === 'drift' ? evaluation.windowEnd : evaluation.maturedAt
}

const RECENT_IDS = 64

/**
 * When to ask for retraining. Drift windows and performance cohorts each keep a streak: an evaluable window that
 * breaches extends it, one that does not ends it, one that cannot be judged (too few records or labels) leaves it as it
 * is, and a change of model version starts it over. A streak of `consecutiveWindows` raises a request with the streak's
 * breaches as evidence, unless a drift or performance request was raised less than `cooldownMs` of event time before;
 * a raised request starts a new streak. Independently, every `scheduleEveryMs` of event time (epoch-aligned ticks,
 * from the first evaluation on) raises a schedule request; the schedule ignores the cooldown.
 *
 * Everything is in event time and the inputs are processed in event-time order (`evaluationTime`), so a replay of the
 * same evaluations makes the same decisions with the same ids.
 */
export class RetrainPolicy {
  readonly #options: RetrainPolicyOptions
  readonly #streaks: Record<'drift' | 'performance', Streak> = { drift: { modelVersion: null, entries: [] }, performance: { modelVersion: null, entries: [] } }
  #lastRequestAt: number | null = null
  #nextScheduleAt: number | null = null
  #recentIds: string[] = []
  #suppressed = 0

  constructor(options: RetrainPolicyOptions) {
    this.#options = options
  }

  /** Requests a full streak did not raise because of the cooldown. */
  get suppressed(): number {
    return this.#suppressed
  }

  /** The next schedule tick; null before the first evaluation or without a schedule. */
  get nextScheduleAt(): number | null {
    return this.#nextScheduleAt
  }

  /**
   * Schedule requests for the ticks up to `eventTime`. Call it with each evaluation's time before `observe`, and with
   * the watermark once a batch of evaluations is done.
   */
  advance(eventTime: number, modelVersion: string | null, requestedAt: number): RetrainRequestRecord[] {
    const every = this.#options.scheduleEveryMs
    const requests: RetrainRequestRecord[] = []
    if (every === null || this.#nextScheduleAt === null) return requests
    for (let tick: number = this.#nextScheduleAt; tick <= eventTime; tick += every) {
      this.#nextScheduleAt = tick + every
      const id = scheduleRequestId(tick)
      if (this.#remember(id)) requests.push({ request_id: id, requested_at: requestedAt, reason: 'schedule', model_version: modelVersion, evidence: [], event_time: tick })
    }
    return requests
  }

  /** One window's drift evaluation or one cohort's performance evaluation, in event-time order. */
  observe(evaluation: Evaluation, requestedAt: number): { outcome: PolicyOutcome; request?: RetrainRequestRecord } {
    const time = evaluationTime(evaluation)
    const every = this.#options.scheduleEveryMs
    if (every !== null && this.#nextScheduleAt === null) this.#nextScheduleAt = (Math.floor(time / every) + 1) * every
    if (!evaluation.evaluable) return { outcome: 'not_evaluable' }
    const streak = this.#streaks[evaluation.kind]
    if (streak.modelVersion !== evaluation.modelVersion) {
      streak.modelVersion = evaluation.modelVersion
      streak.entries = []
    }
    if (evaluation.breaches.length === 0) {
      streak.entries = []
      return { outcome: 'no_breach' }
    }
    streak.entries.push({ windowStart: evaluation.windowStart, windowEnd: evaluation.windowEnd, breaches: evaluation.breaches })
    const needed = this.#options.consecutiveWindows
    if (streak.entries.length > needed) streak.entries = streak.entries.slice(-needed)
    if (streak.entries.length < needed) return { outcome: 'streak' }
    if (this.#lastRequestAt !== null && time < this.#lastRequestAt + this.#options.cooldownMs) {
      this.#suppressed++
      return { outcome: 'cooldown' }
    }
    const entries = streak.entries
    streak.entries = []
    const id = retrainRequestId(evaluation.kind, evaluation.modelVersion, entries[0]?.windowStart ?? evaluation.windowStart)
    if (!this.#remember(id)) return { outcome: 'duplicate' }
    this.#lastRequestAt = time
    const evidence: EvidenceRecord[] = entries.flatMap((entry) => entry.breaches.map((breach) => ({
      window_start: entry.windowStart,
      window_end: entry.windowEnd,
      statistic: breach.statistic,
      feature: breach.feature,
      value: breach.value,
      threshold: breach.threshold,
    })))
    return {
      outcome: 'requested',
      request: { request_id: id, requested_at: requestedAt, reason: evaluation.kind, model_version: evaluation.modelVersion, evidence, event_time: time },
    }
  }

  /** Records an id; false when it was raised recently. */
  #remember(id: string): boolean {
    if (this.#recentIds.includes(id)) return false
    this.#recentIds.push(id)
    if (this.#recentIds.length > RECENT_IDS) this.#recentIds = this.#recentIds.slice(-RECENT_IDS)
    return true
  }

  snapshot(): PolicySnapshot {
    const streak = (s: Streak): PolicySnapshot['drift'] => ({
      modelVersion: s.modelVersion,
      entries: s.entries.map((entry) => ({ windowStart: entry.windowStart, windowEnd: entry.windowEnd, breaches: entry.breaches.map((breach) => ({ ...breach })) })),
    })
    return {
      format: POLICY_SNAPSHOT_FORMAT,
      drift: streak(this.#streaks.drift),
      performance: streak(this.#streaks.performance),
      lastRequestAt: this.#lastRequestAt,
      nextScheduleAt: this.#nextScheduleAt,
      recentIds: [...this.#recentIds],
      suppressed: this.#suppressed,
    }
  }

  static restore(input: unknown, options: RetrainPolicyOptions): RetrainPolicy {
    const snapshot = parseSnapshot(policySnapshotSchema, input, 'policy')
    const policy = new RetrainPolicy(options)
    policy.#streaks.drift = { modelVersion: snapshot.drift.modelVersion, entries: snapshot.drift.entries }
    policy.#streaks.performance = { modelVersion: snapshot.performance.modelVersion, entries: snapshot.performance.entries }
    policy.#lastRequestAt = snapshot.lastRequestAt
    // A schedule turned on, off or changed since the snapshot starts over at the next evaluation.
    policy.#nextScheduleAt = options.scheduleEveryMs === null || snapshot.nextScheduleAt === null || snapshot.nextScheduleAt % options.scheduleEveryMs !== 0 ? null : snapshot.nextScheduleAt
    policy.#recentIds = snapshot.recentIds
    policy.#suppressed = snapshot.suppressed
    return policy
  }
}

export const POLICY_SNAPSHOT_FORMAT = 1

const finite = z.number().refine(Number.isFinite, 'expected a finite number')

const streakSchema = z.object({
  modelVersion: z.string().nullable(),
  entries: z.array(z.object({
    windowStart: finite,
    windowEnd: finite,
    breaches: z.array(z.object({
      statistic: z.enum(['psi', 'ks', 'chi_square_p', 'score_js', 'auc_drop', 'calibration_error_rise']),
      feature: z.string().nullable(),
      value: z.number(),
      threshold: z.number(),
    })),
  })),
})

const policySnapshotSchema = z.object({
  format: z.literal(POLICY_SNAPSHOT_FORMAT),
  drift: streakSchema,
  performance: streakSchema,
  lastRequestAt: finite.nullable(),
  nextScheduleAt: finite.nullable(),
  recentIds: z.array(z.string()),
  suppressed: z.number().int().min(0),
})

/** JSON-able state of `RetrainPolicy`. */
export type PolicySnapshot = z.output<typeof policySnapshotSchema>
