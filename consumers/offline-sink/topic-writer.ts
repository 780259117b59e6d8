import type { ClickHouseClient } from '@clickhouse/client'
import type { Message } from 'kafkajs'
import { deadLetterMessage } from '../../core/dead-letter.js'
import { ChurnError, ErrorCodes, errorMessage, isChurnError } from '../../core/errors.js'
import type { Logger } from '../../core/logger.js'
import { classifyInsertError, retryDelayMs } from './insert-errors.js'
import type { OfflineSinkMetrics } from './metrics.js'
import type { OfflineSinkOptions } from './options.js'
import { PendingRows, type CommitPosition } from './pending-rows.js'
import { sinkFailures, type InsertFailure, type OfflineTable, type PendingRow } from './types.js'

/**
 * Set on the statement: the embedded engine's connection turns `clickhouse_settings` into `SET`s that
 * stay on its session for every later query.
 * - async_insert: the batch is already large; queueing it in the engine only adds a wait and a copy,
 *   and an insert that returns has been written.
 * - optimize_on_insert: FINAL and merges collapse duplicates; collapsing each block too costs a pass.
 * - input_format_defaults_for_omitted_fields: a field a row leaves out takes its type's default,
 *   which is every listed column's DEFAULT (`OfflineTable.columns`), without tracking it per row.
 */
const insertSettings = 'async_insert = 0, optimize_on_insert = 0, input_format_defaults_for_omitted_fields = 0'

/**
 * The one insert call of the sink (and of its benchmark). Rows arrive as JSONEachRow lines,
 * `JSON.stringify` of a row made when its record was decoded (numbers for DateTime64(3)
 * milliseconds, UInt64 offsets as strings), and go inline after the statement, which names the
 * columns and carries the settings.
 */
export async function insertJsonLines(client: ClickHouseClient, table: OfflineTable, lines: readonly string[], signal?: AbortSignal): Promise<void> {
  if (lines.length === 0) return
  const query = `INSERT INTO ${table.name} (${table.columns.join(', ')}) SETTINGS ${insertSettings} FORMAT JSONEachRow\n${lines.join('\n')}`
  await client.command({ query, ...(signal === undefined ? {} : { abort_signal: signal }) })
}

/** A failed insert or dead-letter write, with what it means for retrying. */
export class OfflineWriteError extends ChurnError {
  readonly failure: InsertFailure

  constructor(table: string, failure: InsertFailure, cause?: unknown) {
    super(ErrorCodes.TRANSPORT, `writing to ${table} failed (${failure.kind}, ${failure.code}): ${failure.message}`, {
      canRetry: failure.canRetry,
      cause,
      details: { table, kind: failure.kind, code: failure.code },
    })
    this.name = 'OfflineWriteError'
    this.failure = failure
  }
}

export interface TopicWriterDependencies<Row> {
  topic: string
  table: string
  /** Names the role in dead-letter headers. */
  stage: string
  /** Inserts rows into the table (`insertJsonLines` over the offline store client). */
  insert: (rows: readonly Row[], signal: AbortSignal) => Promise<void>
  options: OfflineSinkOptions
  metrics: OfflineSinkMetrics
  logger: Logger
  /** Sends records to the topic's dead-letter topic; resolves once every in-sync replica has them. */
  deadLetter: (messages: Message[]) => Promise<void>
  /** Commits this topic's consumer offsets. */
  commit: (positions: CommitPosition[]) => Promise<void>
  /** Stop and restart fetching from the topic (both idempotent). */
  pause: () => void
  resume: () => void
  /** Called once if the writer gives up (a failure retrying cannot fix); the topic stays paused. */
  onFatal: (error: ChurnError) => void
}

type WriterState = 'open' | 'draining' | 'closed'

/**
 * Batches the rows of one input topic into inserts of one table. A batch is inserted when it is
 * full or its oldest row has waited long enough; a failed insert pauses fetching from the topic and
 * is retried with capped backoff; offsets are committed once their rows are in ClickHouse.
 */
export class TopicWriter<Row> {
  readonly #deps: TopicWriterDependencies<Row>
  readonly #pending = new PendingRows<PendingRow<Row>>()
  readonly #abort = new AbortController()
  #state: WriterState = 'open'
  #writing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  /** Rows that were pending when the batch delay ran out: they go in the next inserts whatever their number. */
  #dueRows = 0
  #failing = false
  #full = false
  #paused = false
  #fatal: ChurnError | undefined
  #commitFailed = false

  constructor(deps: TopicWriterDependencies<Row>) {
    this.#deps = deps
    this.#setPaused(false)
    this.#deps.metrics.pendingRows.set({ topic: deps.topic }, 0)
  }

  get pendingRows(): number {
    return this.#pending.size
  }

  get paused(): boolean {
    return this.#paused
  }

  get fatal(): ChurnError | undefined {
    return this.#fatal
  }

  /**
   * Whether a consumed batch of `count` records can be taken now. A batch is taken whole or not at
   * all (so its offset range stays intact), and always when nothing is pending, so memory holds at
   * most `maxPendingRows` rows or one fetched batch. Refusing pauses the topic until the pending
   * rows are down to half the limit.
   */
  tryReserve(count: number): boolean {
    if (this.#state !== 'open' || this.#fatal !== undefined) return false
    const size = this.#pending.size
    const fits = !this.#failing && (size === 0 || (!this.#full && size + count <= this.#deps.options.maxPendingRows))
    if (!fits) {
      if (!this.#failing) this.#full = true
      this.#updateFlow()
      // KafkaJS forgets paused topics when its consumer restarts after a crash: say it again.
      this.#deps.pause()
    }
    return fits
  }

  /** Adds the rows of one consumed batch; `commitOffset` follows its last record (bad ones included). */
  accept(partition: number, rows: readonly PendingRow<Row>[], commitOffset: string): void {
    this.#pending.append(partition, rows, commitOffset)
    this.#afterChange()
    if (this.#pending.size >= this.#deps.options.maxPendingRows) {
      this.#full = true
      this.#updateFlow()
    }
    if (this.#pending.size >= this.#deps.options.batchRows || this.#pending.size === 0) this.#kick()
    else this.#armTimer()
  }

  /** Stops taking rows and never resumes fetching again; pending rows wait for `drain()`. */
  hold(): void {
    if (this.#state === 'open') this.#state = 'draining'
    this.#clearTimer()
  }

  /** Stops taking rows, inserts what is pending and commits. Gives up when `abort()` is called. */
  async drain(): Promise<void> {
    if (this.#state === 'open') this.#state = 'draining'
    this.#clearTimer()
    if (this.#fatal === undefined) this.#kick()
    while (this.#writing !== undefined) await this.#writing
    this.#state = 'closed'
    this.#clearTimer()
    if (this.#pending.size > 0) {
      this.#deps.logger.warn(
        { topic: this.#deps.topic, table: this.#deps.table, rows: this.#pending.size },
        'closing with rows not inserted: their offsets are not committed, so they are consumed again after a restart',
      )
    }
  }

  /** Cancels retry waits and the insert in flight (used when the drain deadline passes). */
  abort(): void {
    this.#abort.abort(new ChurnError(ErrorCodes.SHUTDOWN_TIMEOUT, `drain of ${this.#deps.topic} timed out`))
  }

  #kick(): void {
    if (this.#writing !== undefined || this.#fatal !== undefined) return
    this.#clearTimer()
    this.#writing = this.#pump().finally(() => {
      this.#writing = undefined
      if (this.#fatal !== undefined || this.#state === 'closed' || this.#abort.signal.aborted) return
      // Rows or a commit position may have arrived while the last step was awaited.
      if (this.#shouldWrite() || (!this.#commitFailed && this.#pending.size === 0 && this.#pending.uncommitted().length > 0)) this.#kick()
      else if (this.#pending.size > 0) this.#armTimer()
    })
  }

  #armTimer(): void {
    if (this.#timer !== undefined || this.#writing !== undefined || this.#state !== 'open' || this.#fatal !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#dueRows = this.#pending.size
      this.#kick()
    }, this.#deps.options.batchDelayMs)
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #shouldWrite(): boolean {
    const size = this.#pending.size
    return size > 0 && (size >= this.#deps.options.batchRows || this.#dueRows > 0 || this.#state !== 'open')
  }

  /** Writes batches while there is something due, then commits. Never rejects. */
  async #pump(): Promise<void> {
    try {
      while (this.#shouldWrite() && !this.#abort.signal.aborted) {
        const batch = this.#pending.peek(this.#deps.options.batchRows)
        await this.#writeWithRetry(batch)
        this.#pending.settle(batch.length)
        this.#dueRows = Math.max(0, this.#dueRows - batch.length)
        this.#afterChange()
        await this.#commit()
      }
      await this.#commit()
    } catch (error) {
      if (this.#abort.signal.aborted) return
      const fatal = isChurnError(error) ? error : new ChurnError(ErrorCodes.TRANSPORT, `offline sink writer for ${this.#deps.topic} failed: ${errorMessage(error)}`, { cause: error })
      this.#fatal = fatal
      this.#updateFlow()
      this.#deps.logger.error({ err: fatal, topic: this.#deps.topic, table: this.#deps.table, pending: this.#pending.size }, 'offline sink stopped writing this topic: retrying cannot help; nothing is committed past the last inserted row')
      this.#deps.onFatal(fatal)
    }
  }

  /** Inserts a batch (dead-lettering rows ClickHouse refuses), retrying what may pass with capped backoff. */
  async #writeWithRetry(batch: readonly PendingRow<Row>[]): Promise<void> {
    const { initialRetryMs, maxRetryMs } = this.#deps.options
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.#writeOnce(batch)
        if (this.#failing) {
          this.#deps.logger.info({ topic: this.#deps.topic, table: this.#deps.table, attempts: attempt + 1 }, 'offline store writable again')
          this.#failing = false
          this.#updateFlow()
        }
        return
      } catch (error) {
        if (!isChurnError(error) || !error.canRetry || this.#abort.signal.aborted) throw error
        this.#failing = true
        this.#updateFlow()
        const waitMs = retryDelayMs(attempt, initialRetryMs, maxRetryMs)
        // Attempts 1, 2, 4, 8, ... at warn: a long outage stays visible without a line per retry.
        const level = (attempt & (attempt + 1)) === 0 ? 'warn' : 'debug'
        const code = error instanceof OfflineWriteError ? error.failure.code : error.code
        this.#deps.logger[level]({ topic: this.#deps.topic, table: this.#deps.table, code, error: error.message, attempt: attempt + 1, waitMs, rows: batch.length }, 'offline store write failed, retrying')
        await delay(waitMs, this.#abort.signal)
      }
    }
  }

  async #writeOnce(batch: readonly PendingRow<Row>[]): Promise<void> {
    const rejected: { entry: PendingRow<Row>; failure: InsertFailure }[] = []
    await this.#insertOrBisect(batch, rejected)
    if (rejected.length === 0) return
    if (rejected.length === batch.length && batch.length > 1) {
      // Every row refused on its own: the table does not match what the sink writes. Dead-lettering
      // the stream would hide a deployment problem, so stop instead.
      const [first] = rejected
      throw new OfflineWriteError(this.#deps.table, { kind: 'fatal', canRetry: false, code: first?.failure.code ?? 'UNKNOWN', message: `all ${batch.length} rows of a batch were refused: ${first?.failure.message ?? ''}` })
    }
    const { topic, stage } = this.#deps
    const messages = rejected.map(({ entry, failure }) =>
      deadLetterMessage(entry.message, { topic, partition: entry.partition, reason: sinkFailures.CLICKHOUSE_REJECTED, error: `${failure.code}: ${failure.message}`, stage }),
    )
    try {
      await this.#deps.deadLetter(messages)
    } catch (error) {
      // The accepted rows are in ClickHouse; inserting them again on retry only adds duplicates that collapse.
      throw new OfflineWriteError(this.#deps.table, { kind: 'transient', canRetry: true, code: 'DEAD_LETTER', message: `dead-lettering ${messages.length} refused rows failed: ${errorMessage(error)}` }, error)
    }
    this.#deps.logger.warn({ topic, table: this.#deps.table, rows: messages.length }, 'rows refused by ClickHouse were dead-lettered')
  }

  /** Inserts `rows`; when ClickHouse refuses some row, halves the batch until the refused rows are isolated. */
  async #insertOrBisect(rows: readonly PendingRow<Row>[], rejected: { entry: PendingRow<Row>; failure: InsertFailure }[]): Promise<void> {
    const failure = await this.#insert(rows)
    if (failure === undefined) return
    const [only] = rows
    if (rows.length === 1 && only !== undefined) {
      rejected.push({ entry: only, failure })
      return
    }
    const middle = Math.ceil(rows.length / 2)
    await this.#insertOrBisect(rows.slice(0, middle), rejected)
    await this.#insertOrBisect(rows.slice(middle), rejected)
  }

  /** One insert: resolves when written, returns the failure when rows are at fault, throws otherwise. */
  async #insert(rows: readonly PendingRow<Row>[]): Promise<InsertFailure | undefined> {
    const { table, topic, metrics } = this.#deps
    const stopTimer = metrics.insertDuration.startTimer({ table })
    try {
      await this.#deps.insert(rows.map((entry) => entry.row), this.#abort.signal)
      stopTimer()
    } catch (error) {
      stopTimer()
      const failure = classifyInsertError(error)
      metrics.insertErrors.inc({ table, kind: failure.kind, code: failure.code })
      if (failure.kind === 'rejected') return failure
      throw new OfflineWriteError(table, failure, error)
    }
    metrics.batchRows.observe({ table }, rows.length)
    metrics.inserted.inc({ topic, table }, rows.length)
    return undefined
  }

  async #commit(): Promise<void> {
    const positions = this.#pending.uncommitted()
    if (positions.length === 0) return
    try {
      await this.#deps.commit(positions)
      this.#pending.committed(positions)
      this.#commitFailed = false
    } catch (error) {
      this.#commitFailed = true
      // The rows are in ClickHouse; the next batch commits past them, and a replay before that only
      // adds duplicates that collapse.
      this.#deps.metrics.commitErrors.inc({ topic: this.#deps.topic })
      this.#deps.logger.warn({ err: error, topic: this.#deps.topic, positions }, 'committing offsets failed; retried with the next batch')
    }
  }

  #afterChange(): void {
    this.#deps.metrics.pendingRows.set({ topic: this.#deps.topic }, this.#pending.size)
    if (this.#full && this.#pending.size <= this.#deps.options.maxPendingRows / 2) this.#full = false
    this.#updateFlow()
  }

  #updateFlow(): void {
    const pause = this.#failing || this.#full || this.#fatal !== undefined
    if (pause && !this.#paused) {
      this.#setPaused(true)
      this.#deps.logger.info({ topic: this.#deps.topic, failing: this.#failing, pendingRows: this.#pending.size }, 'pausing fetching')
      this.#deps.pause()
    } else if (!pause && this.#paused && this.#state === 'open') {
      this.#setPaused(false)
      this.#deps.logger.info({ topic: this.#deps.topic, pendingRows: this.#pending.size }, 'resuming fetching')
      this.#deps.resume()
    }
  }

  #setPaused(paused: boolean): void {
    this.#paused = paused
    this.#deps.metrics.paused.set({ topic: this.#deps.topic }, paused ? 1 : 0)
  }
}

/** Waits `ms`, or rejects with the signal's reason once it is aborted. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason as Error)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
