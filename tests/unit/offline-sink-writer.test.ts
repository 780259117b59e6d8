import type { KafkaMessage, Message } from 'kafkajs'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { deadLetterHeaders, headerText } from '../../core/dead-letter.js'
import type { ChurnError } from '../../core/errors.js'
import { createLogger } from '../../core/logger.js'
import { offlineSinkMetrics } from '../../consumers/offline-sink/metrics.js'
import { parseOfflineSinkOptions, type OfflineSinkOptionsInput } from '../../consumers/offline-sink/options.js'
import type { CommitPosition } from '../../consumers/offline-sink/pending-rows.js'
import { TopicWriter } from '../../consumers/offline-sink/topic-writer.js'
import type { PendingRow } from '../../consumers/offline-sink/types.js'

interface Row {
  id: number
  poison?: boolean
}

const logger = createLogger({ level: 'silent' })

function clickHouseError(code: string, type: string): Error {
  return Object.assign(new Error(`${type} from the store`), { code, type })
}

function record(offset: number): KafkaMessage {
  return { key: Buffer.from(`k-${offset}`), value: Buffer.from(`v-${offset}`), timestamp: '0', attributes: 0, offset: String(offset), headers: { origin: 'test' } }
}

function rows(partition: number, from: number, count: number, poison: readonly number[] = []): PendingRow<Row>[] {
  return Array.from({ length: count }, (_, i) => ({ row: { id: from + i, ...(poison.includes(from + i) ? { poison: true } : {}) }, partition, message: record(from + i) }))
}

/** A writer whose table is `insert` and whose Kafka side is recorded. */
function harness(options: OfflineSinkOptionsInput, insert: (rows: readonly Row[]) => Promise<void>) {
  // Pausing is idempotent (as in KafkaJS): the flow records changes, `pauseCalls` every call.
  const flow: string[] = []
  let pauseCalls = 0
  const commits: CommitPosition[][] = []
  const deadLetters: Message[] = []
  const attempts: { at: number; ids: number[] }[] = []
  let fatal: ChurnError | undefined
  const writer = new TopicWriter<Row>({
    topic: 'customer.events',
    table: 'customer_events',
    stage: 'test',
    insert: (values) => {
      const batch = values as Row[]
      attempts.push({ at: Date.now(), ids: batch.map((row) => row.id) })
      return insert(batch)
    },
    options: parseOfflineSinkOptions(options),
    metrics: offlineSinkMetrics(new Registry()),
    logger,
    deadLetter: (messages) => {
      deadLetters.push(...messages)
      return Promise.resolve()
    },
    commit: (positions) => {
      commits.push(positions)
      return Promise.resolve()
    },
    pause: () => {
      pauseCalls += 1
      if (flow.at(-1) !== 'pause') flow.push('pause')
    },
    resume: () => {
      if (flow.at(-1) === 'pause') flow.push('resume')
    },
    onFatal: (error) => { fatal = error },
  })
  return { writer, flow, commits, deadLetters, attempts, fatal: () => fatal, pauseCalls: () => pauseCalls }
}

/** An insert that waits until the test lets it finish. */
function gatedInsert() {
  const gates: (() => void)[] = []
  return {
    insert: () => new Promise<void>((resolve) => gates.push(resolve)),
    release: () => { gates.shift()?.() },
    waiting: () => gates.length,
  }
}

const settle = async (): Promise<void> => {
  await vi.advanceTimersByTimeAsync(0)
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 })
})

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('TopicWriter', () => {
  it('inserts as soon as a batch is full, commits only after the insert, and sends a partial batch after the delay', async () => {
    const gate = gatedInsert()
    const { writer, commits, attempts } = harness({ batchRows: 3, batchDelayMs: 1_000 }, gate.insert)
    writer.accept(0, rows(0, 0, 2), '2')
    await settle()
    expect(attempts).toEqual([])
    writer.accept(0, rows(0, 2, 2), '4')
    await settle()
    expect(attempts.map((attempt) => attempt.ids)).toEqual([[0, 1, 2]])
    expect(commits).toEqual([])

    gate.release()
    await settle()
    // Rows 0-1 settle the first batch's position; row 3 still holds back offset 4.
    expect(commits).toEqual([[{ partition: 0, offset: '2' }]])

    await vi.advanceTimersByTimeAsync(999)
    expect(attempts).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(attempts.map((attempt) => attempt.ids)).toEqual([[0, 1, 2], [3]])
    gate.release()
    await settle()
    expect(commits).toEqual([[{ partition: 0, offset: '2' }], [{ partition: 0, offset: '4' }]])
    expect(writer.pendingRows).toBe(0)
  })

  it('pauses the topic while inserts fail, retries with capped backoff, then resumes and commits', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1)
    let failures = 4
    const insert = (): Promise<void> => (failures-- > 0 ? Promise.reject(clickHouseError('60', 'UNKNOWN_TABLE')) : Promise.resolve())
    const { writer, flow, commits, attempts } = harness({ batchRows: 2, initialRetryMs: 100, maxRetryMs: 300 }, insert)
    writer.accept(1, rows(1, 0, 2), '2')
    await settle()
    expect(flow).toEqual(['pause'])
    expect(writer.paused).toBe(true)
    expect(writer.tryReserve(1)).toBe(false)

    await vi.advanceTimersByTimeAsync(5_000)
    // Waits of 100, 200, then capped at 300.
    expect(attempts.map((attempt) => attempt.at)).toEqual([0, 100, 300, 600, 900])
    expect(flow).toEqual(['pause', 'resume'])
    expect(commits).toEqual([[{ partition: 1, offset: '2' }]])
    expect(writer.tryReserve(1)).toBe(true)
  })

  it('takes a batch only when it fits, or whole when nothing is pending, and resumes below half the limit', async () => {
    const gate = gatedInsert()
    const { writer, flow, pauseCalls } = harness({ batchRows: 2, maxPendingRows: 4 }, gate.insert)
    expect(writer.tryReserve(10)).toBe(true)
    writer.accept(0, rows(0, 0, 10), '10')
    await settle()
    expect(flow).toEqual(['pause'])
    const calls = pauseCalls()
    expect(writer.tryReserve(1)).toBe(false)
    // A refused batch pauses again: KafkaJS forgets paused topics when its consumer restarts.
    expect(pauseCalls()).toBe(calls + 1)

    for (let i = 0; i < 3; i += 1) {
      gate.release()
      await settle()
    }
    expect(writer.pendingRows).toBe(4)
    expect(flow).toEqual(['pause'])
    gate.release()
    await settle()
    expect(writer.pendingRows).toBe(2)
    expect(flow).toEqual(['pause', 'resume'])
    expect(writer.tryReserve(2)).toBe(true)
    expect(writer.tryReserve(3)).toBe(false)
    expect(flow).toEqual(['pause', 'resume', 'pause'])
  })

  it('dead-letters only the rows ClickHouse refuses, as the original records, and writes every other row once', async () => {
    const written: number[] = []
    const insert = (batch: readonly Row[]): Promise<void> => {
      if (batch.some((row) => row.poison === true)) return Promise.reject(clickHouseError('469', 'VIOLATED_CONSTRAINT'))
      written.push(...batch.map((row) => row.id))
      return Promise.resolve()
    }
    const { writer, commits, deadLetters, fatal } = harness({ batchRows: 8 }, insert)
    writer.accept(0, rows(0, 0, 8, [3, 6]), '8')
    await settle()
    expect(written.sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 7])
    expect(deadLetters.map((message) => message.value?.toString())).toEqual(['v-3', 'v-6'])
    expect(deadLetters.map((message) => headerText(message.headers, deadLetterHeaders.reason))).toEqual(['CLICKHOUSE_REJECTED', 'CLICKHOUSE_REJECTED'])
    expect(headerText(deadLetters[0]?.headers, deadLetterHeaders.error)).toMatch(/^VIOLATED_CONSTRAINT: /u)
    expect(headerText(deadLetters[0]?.headers, 'origin')).toBe('test')
    expect(commits).toEqual([[{ partition: 0, offset: '8' }]])
    expect(fatal()).toBeUndefined()
  })

  it('stops for good, uncommitted, when every row of a batch is refused or retrying cannot help', async () => {
    const refused = harness({ batchRows: 3 }, () => Promise.reject(clickHouseError('469', 'VIOLATED_CONSTRAINT')))
    refused.writer.accept(0, rows(0, 0, 3), '3')
    await settle()
    expect(refused.fatal()).toMatchObject({ code: 'TRANSPORT', canRetry: false })
    expect(refused.deadLetters).toEqual([])
    expect(refused.commits).toEqual([])
    expect(refused.flow).toEqual(['pause'])
    expect(refused.writer.tryReserve(1)).toBe(false)

    const denied = harness({ batchRows: 1 }, () => Promise.reject(clickHouseError('516', 'AUTHENTICATION_FAILED')))
    denied.writer.accept(0, rows(0, 0, 1), '1')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(denied.attempts).toHaveLength(1)
    expect(denied.fatal()?.message).toMatch(/AUTHENTICATION_FAILED/u)
    expect(denied.commits).toEqual([])
  })

  it('on drain inserts what is pending and commits, and on abort gives up without committing', async () => {
    const ok = harness({ batchRows: 100, batchDelayMs: 60_000 }, () => Promise.resolve())
    ok.writer.accept(2, rows(2, 5, 3), '8')
    await ok.writer.drain()
    expect(ok.attempts.map((attempt) => attempt.ids)).toEqual([[5, 6, 7]])
    expect(ok.commits).toEqual([[{ partition: 2, offset: '8' }]])

    const down = harness({ batchRows: 100, batchDelayMs: 60_000, initialRetryMs: 50, maxRetryMs: 50 }, () => Promise.reject(clickHouseError('60', 'UNKNOWN_TABLE')))
    down.writer.accept(0, rows(0, 0, 3), '3')
    const drained = down.writer.drain()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(down.attempts.length).toBeGreaterThan(10)
    down.writer.abort()
    await drained
    expect(down.commits).toEqual([])
    expect(down.writer.pendingRows).toBe(3)
    expect(down.fatal()).toBeUndefined()
  })

  it('commits past a batch of only bad records right away when nothing is pending', async () => {
    const { writer, commits } = harness({}, () => Promise.resolve())
    writer.accept(4, [], '17')
    await settle()
    expect(commits).toEqual([[{ partition: 4, offset: '17' }]])
  })
})
