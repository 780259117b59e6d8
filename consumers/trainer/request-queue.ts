import type { RetrainRequestInfo } from './types.js'

/** A training run: the requests it stands for, coalesced. */
export interface RetrainRun {
  /** The requests behind the run, oldest first (at most `maxListed` of them; `count` has them all). */
  readonly requests: readonly RetrainRequestInfo[]
  readonly count: number
  /** Newest event time of its requests: the run trains on the offline store up to it (or up to the newest event, if earlier). */
  readonly asOf: number
  /** 1 for a first attempt. */
  readonly attempt: number
  /** The newest drift start of its drift and performance requests: the run trains on data from there on. */
  readonly driftFrom?: number
}

/**
 * `queued`: the request opened a new pending run; `joined`: it joined the pending one; `duplicate`: a request with its id
 * is pending or running already; `covered`: the data of a finished run reached its event time, so it needs no run.
 */
export type OfferOutcome = 'queued' | 'joined' | 'duplicate' | 'covered'

export interface RunResult {
  /** Wall-clock end of the run: the cooldown starts here. */
  readonly now: number
  /** Newest event time the run's data held, when the run got as far as reading it and the outcome is final. */
  readonly dataEnd?: number
  /** Run it again (with the requests that arrived meanwhile) after the cooldown, if attempts are left. */
  readonly retry?: boolean
  /**
   * The data the run needs are not in the store yet: it did not train, and is taken again, with the requests that
   * arrived meanwhile, after this many milliseconds. Neither an attempt nor a run for the cooldown.
   */
  readonly waitMs?: number
}

export interface FinishOutcome {
  /** The run's requests are pending again for another attempt. */
  readonly retried: boolean
  /** Pending requests the finished run's data covered, so they were dropped without a run. */
  readonly covered: number
}

export interface RetrainQueueOptions {
  /** Wall-clock milliseconds after a run ends before the next starts. */
  readonly cooldownMs: number
  /** Attempts of a run that keeps failing. */
  readonly maxAttempts: number
  /** Requests listed per run (for logs and the audit trail); the rest are only counted. @default 20 */
  readonly maxListed?: number
}

interface Group {
  requests: RetrainRequestInfo[]
  count: number
  asOf: number
  attempt: number
  driftFrom: number | undefined
  /** First outstanding offset per partition: nothing from it on may be committed before the group is done. */
  firstOffsets: Map<number, bigint>
}

/** Served request ids remembered against redelivery. */
const servedIdsKept = 10_000

export interface CommitPosition {
  readonly partition: number
  /** The next offset to consume, as Kafka commits it. */
  readonly offset: string
}

/**
 * Coalesces retrain requests into runs, one at a time, at most one pending, and spaces runs by a cooldown in wall-clock
 * time (it protects compute and gives the last promotion time to show). Coverage is in event time: a request whose
 * event time the data of a finished run reached is satisfied by that run. It also tracks which consumed offsets may be
 * committed: only those before every request of the running and the pending run, so a crash never loses a request.
 *
 * Pure: the caller supplies the time and does the I/O.
 */
export class RetrainQueue {
  readonly #options: Required<RetrainQueueOptions>
  #running: { run: RetrainRun; group: Group } | undefined
  #pending: Group | undefined
  #lastEnd: number | undefined
  /** A waiting run is not taken before this wall-clock time. */
  #notBefore = Number.NEGATIVE_INFINITY
  #coveredUntil = Number.NEGATIVE_INFINITY
  /** Ids of requests finished runs served, newest last (bounded): one delivered again after a rebalance is a duplicate. */
  readonly #served = new Set<string>()
  readonly #consumed = new Map<number, bigint>()
  readonly #committed = new Map<number, bigint>()

  constructor(options: RetrainQueueOptions) {
    this.#options = { maxListed: 20, ...options }
  }

  /** Newest event time a finished run's data reached. */
  get coveredUntil(): number {
    return this.#coveredUntil
  }

  get running(): RetrainRun | undefined {
    return this.#running?.run
  }

  /** Requests waiting for the next run. */
  get pendingCount(): number {
    return this.#pending?.count ?? 0
  }

  offer(request: RetrainRequestInfo): OfferOutcome {
    this.#consume(request.partition, request.offset)
    if (request.eventTime <= this.#coveredUntil) return 'covered'
    if (this.#running?.group.requests.some((listed) => listed.id === request.id) === true || this.#served.has(request.id)) return 'duplicate'
    if (this.#pending === undefined) {
      this.#pending = { requests: [], count: 0, asOf: Number.NEGATIVE_INFINITY, attempt: 1, driftFrom: undefined, firstOffsets: new Map() }
      this.#add(this.#pending, request)
      return 'queued'
    }
    if (this.#pending.requests.some((listed) => listed.id === request.id)) return 'duplicate'
    this.#add(this.#pending, request)
    return 'joined'
  }

  /** A consumed record that is no request (dead-lettered): nothing waits on it. */
  skip(partition: number, offset: string): void {
    this.#consume(partition, offset)
  }

  /** Milliseconds until `take` returns a run: undefined when nothing is pending or a run is going on. */
  readyIn(now: number): number | undefined {
    if (this.#pending === undefined || this.#running !== undefined) return undefined
    const cooledAt = this.#lastEnd === undefined ? Number.NEGATIVE_INFINITY : this.#lastEnd + this.#options.cooldownMs
    return Math.max(0, cooledAt - now, this.#notBefore - now)
  }

  /** The pending run, now running, when none runs and the cooldown is over. */
  take(now: number): RetrainRun | undefined {
    if (this.readyIn(now) !== 0 || this.#pending === undefined) return undefined
    const group = this.#pending
    this.#pending = undefined
    const run: RetrainRun = { requests: [...group.requests], count: group.count, asOf: group.asOf, attempt: group.attempt, ...(group.driftFrom === undefined ? {} : { driftFrom: group.driftFrom }) }
    this.#running = { run, group }
    return run
  }

  finish(run: RetrainRun, result: RunResult): FinishOutcome {
    const running = this.#running
    if (running?.run !== run) throw new Error('finish() of a run that is not running')
    this.#running = undefined
    if (result.retry !== true && result.waitMs === undefined) {
      for (const request of run.requests) this.#served.add(request.id)
      for (const id of this.#served) {
        if (this.#served.size <= servedIdsKept) break
        this.#served.delete(id)
      }
    }
    if (result.waitMs !== undefined) {
      this.#notBefore = result.now + result.waitMs
      this.#pending = this.#pending === undefined ? running.group : this.#merge(running.group, this.#pending, running.group.attempt)
      return { retried: false, covered: 0 }
    }
    this.#lastEnd = result.now
    if (result.dataEnd !== undefined) this.#coveredUntil = Math.max(this.#coveredUntil, result.dataEnd)
    const retried = result.retry === true && run.attempt < this.#options.maxAttempts
    if (retried) {
      const again = { ...running.group, attempt: run.attempt + 1 }
      // Requests that arrived since give the merged run fresh attempts: they are new evidence.
      this.#pending = this.#pending === undefined ? again : this.#merge(again, this.#pending)
    }
    let covered = 0
    if (this.#pending !== undefined && this.#pending.asOf <= this.#coveredUntil) {
      covered = this.#pending.count
      this.#pending = undefined
    }
    return { retried, covered }
  }

  /** Positions that may be committed and are past the last committed ones. */
  committable(): CommitPosition[] {
    const positions: CommitPosition[] = []
    for (const [partition, consumed] of this.#consumed) {
      let position = consumed
      for (const group of [this.#running?.group, this.#pending]) {
        const first = group?.firstOffsets.get(partition)
        if (first !== undefined && first < position) position = first
      }
      const committed = this.#committed.get(partition)
      if (committed === undefined || position > committed) positions.push({ partition, offset: position.toString() })
    }
    return positions
  }

  markCommitted(positions: readonly CommitPosition[]): void {
    for (const { partition, offset } of positions) {
      const value = BigInt(offset)
      if (value > (this.#committed.get(partition) ?? -1n)) this.#committed.set(partition, value)
    }
  }

  #consume(partition: number, offset: string): void {
    const next = BigInt(offset) + 1n
    if (next > (this.#consumed.get(partition) ?? -1n)) this.#consumed.set(partition, next)
  }

  #add(group: Group, request: RetrainRequestInfo): void {
    if (group.requests.length < this.#options.maxListed) group.requests.push(request)
    group.count += 1
    group.asOf = Math.max(group.asOf, request.eventTime)
    if (request.driftFrom !== undefined) group.driftFrom = Math.max(group.driftFrom ?? Number.NEGATIVE_INFINITY, request.driftFrom)
    const offset = BigInt(request.offset)
    const first = group.firstOffsets.get(request.partition)
    if (first === undefined || offset < first) group.firstOffsets.set(request.partition, offset)
  }

  #merge(older: Group, newer: Group, attempt = 1): Group {
    const firstOffsets = new Map(older.firstOffsets)
    for (const [partition, offset] of newer.firstOffsets) {
      const first = firstOffsets.get(partition)
      if (first === undefined || offset < first) firstOffsets.set(partition, offset)
    }
    const ids = new Set(older.requests.map((request) => request.id))
    return {
      requests: [...older.requests, ...newer.requests.filter((request) => !ids.has(request.id))].slice(0, this.#options.maxListed),
      count: older.count + newer.count,
      asOf: Math.max(older.asOf, newer.asOf),
      attempt,
      driftFrom: older.driftFrom === undefined ? newer.driftFrom : newer.driftFrom === undefined ? older.driftFrom : Math.max(older.driftFrom, newer.driftFrom),
      firstOffsets,
    }
  }
}
