import type { ClickHouseClient } from '@clickhouse/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { featureSnapshotRow, featureVectorSchema, jsonDouble } from '../../consumers/offline-sink/feature-snapshots.js'
import { classifyInsertError, retryDelayMs } from '../../consumers/offline-sink/insert-errors.js'
import { parseOfflineSinkOptions } from '../../consumers/offline-sink/options.js'
import { customerEventLine, offlineTables } from '../../consumers/offline-sink/sources.js'
import { insertJsonLines } from '../../consumers/offline-sink/topic-writer.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import type { CustomerEvent } from '../../schemas/events.js'

/** The shape ClickHouse errors have, from the HTTP client and the embedded engine alike. */
function clickHouseError(code: string, type: string, message = `${type} happened`): Error {
  return Object.assign(new Error(message), { code, type })
}

describe('offline sink options', () => {
  it('fills in defaults', () => {
    expect(parseOfflineSinkOptions()).toEqual({
      batchRows: 50_000,
      batchDelayMs: 1_000,
      maxPendingRows: 100_000,
      initialRetryMs: 100,
      maxRetryMs: 10_000,
      drainTimeoutMs: 10_000,
      maxBytesPerPartition: 1_048_576,
      maxWaitTimeMs: 500,
      fromBeginning: true,
    })
  })

  it('names each bad field and refuses unknown ones', () => {
    expect(() => parseOfflineSinkOptions({ batchRows: 0 })).toThrow(/batchRows: /u)
    expect(() => parseOfflineSinkOptions({ batchRows: 100, maxPendingRows: 10 })).toThrow(/maxPendingRows: must be at least batchRows/u)
    expect(() => parseOfflineSinkOptions({ initialRetryMs: 500, maxRetryMs: 100 })).toThrow(/maxRetryMs: must be at least initialRetryMs/u)
    expect(() => parseOfflineSinkOptions({ batchSize: 10 } as never)).toThrow(/batchSize/u)
    expect(() => parseOfflineSinkOptions({ batchRows: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error)
  })
})

describe('classifying a failed insert', () => {
  it('retries what can pass: a missing table, overload, memory pressure, a lost connection, the unfamiliar', () => {
    for (const error of [
      clickHouseError('60', 'UNKNOWN_TABLE'),
      clickHouseError('252', 'TOO_MANY_PARTS'),
      clickHouseError('241', 'MEMORY_LIMIT_EXCEEDED'),
      clickHouseError('999999', 'SOMETHING_NEW'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }),
      new Error('Timeout error.'),
    ]) {
      expect(classifyInsertError(error)).toMatchObject({ kind: 'transient', canRetry: true })
    }
    expect(classifyInsertError(clickHouseError('60', 'UNKNOWN_TABLE')).code).toBe('UNKNOWN_TABLE')
    expect(classifyInsertError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })).code).toBe('ECONNREFUSED')
    expect(classifyInsertError(clickHouseError('42', '')).code).toBe('CODE_42')
  })

  it('blames the rows for constraint and parse failures', () => {
    for (const [code, type] of [['469', 'VIOLATED_CONSTRAINT'], ['41', 'CANNOT_PARSE_DATETIME'], ['321', 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE']] as const) {
      expect(classifyInsertError(clickHouseError(code, type))).toEqual({ kind: 'rejected', canRetry: false, code: type, message: `${type} happened` })
    }
  })

  it('never retries credentials, permissions, a schema mismatch or a closed client', () => {
    for (const error of [
      clickHouseError('516', 'AUTHENTICATION_FAILED'),
      clickHouseError('497', 'ACCESS_DENIED'),
      clickHouseError('16', 'NO_SUCH_COLUMN_IN_TABLE'),
      clickHouseError('117', 'INCORRECT_DATA'),
      new Error('ChdbConnection is closed'),
    ]) {
      expect(classifyInsertError(error)).toMatchObject({ kind: 'fatal', canRetry: false })
    }
  })
})

describe('retry delay', () => {
  it('doubles from the initial delay up to the cap, waiting at least half of each step', () => {
    expect(retryDelayMs(0, 100, 10_000, () => 0)).toBe(50)
    expect(retryDelayMs(0, 100, 10_000, () => 1)).toBe(100)
    expect(retryDelayMs(3, 100, 10_000, () => 1)).toBe(800)
    expect(retryDelayMs(20, 100, 10_000, () => 1)).toBe(10_000)
    expect(retryDelayMs(1_000, 100, 10_000, () => 0)).toBe(5_000)
  })

  it('stays within [step / 2, step] for any attempt and jitter', () => {
    fc.assert(
      fc.property(fc.nat({ max: 200 }), fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, initial, extra, random) => {
        const max = initial + extra
        const step = Math.min(max, initial * 2 ** Math.min(attempt, 30))
        const wait = retryDelayMs(attempt, initial, max, () => random)
        expect(wait).toBeGreaterThanOrEqual(Math.floor(step / 2))
        expect(wait).toBeLessThanOrEqual(Math.ceil(step))
      }),
    )
  })
})

describe('feature snapshot rows', () => {
  const vector = {
    customer_id: 'c-1',
    feature_set_version: 'fs-3',
    values: [1, Number.NaN, 2.5, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0],
    newest_event_time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    computed_at: Date.UTC(2026, 0, 2, 3, 4, 6),
    source_partition: 2,
    source_offset: 41,
  }

  it('keeps NaN and infinities, which JSON cannot carry, as strings ClickHouse reads into Float64', () => {
    expect(featureSnapshotRow(featureVectorSchema.parse(vector), { topic: 'customer.features', partition: 1, offset: '9007199254740993' })).toEqual({
      customer_id: 'c-1',
      feature_set_version: 'fs-3',
      as_of: vector.newest_event_time,
      values: [1, 'nan', 2.5, 'inf', '-inf', 0],
      computed_at: vector.computed_at,
      src_topic: 'customer.features',
      src_partition: 1,
      src_offset: '9007199254740993',
    })
    expect(jsonDouble(-0)).toBe(-0)
  })

  it('refuses vectors a table could not store faithfully', () => {
    expect(featureVectorSchema.safeParse({ ...vector, customer_id: '' }).success).toBe(false)
    expect(featureVectorSchema.safeParse({ ...vector, feature_set_version: '' }).success).toBe(false)
    expect(featureVectorSchema.safeParse({ ...vector, newest_event_time: Date.UTC(2300, 0, 1) }).success).toBe(false)
    expect(featureVectorSchema.safeParse({ ...vector, computed_at: Date.UTC(1899, 11, 31) }).success).toBe(false)
  })
})

describe('the insert statement', () => {
  /** A client that records the statements it is given. */
  function recordingClient(): { client: ClickHouseClient; queries: string[] } {
    const queries: string[] = []
    const client = { command: (params: { query: string }) => { queries.push(params.query); return Promise.resolve({ query_id: '' }) } } as unknown as ClickHouseClient
    return { client, queries }
  }

  it('names the columns, sets its settings on the statement itself, and sends one JSON line per row', async () => {
    const { client, queries } = recordingClient()
    const table = { name: 'customer_events', columns: ['event_id', 'customer_id'] }
    await insertJsonLines(client, table, ['{"event_id":"a","customer_id":"c-1"}', '{"event_id":"b","customer_id":"c-2"}'])
    expect(queries).toEqual([
      'INSERT INTO customer_events (event_id, customer_id) SETTINGS async_insert = 0, optimize_on_insert = 0, input_format_defaults_for_omitted_fields = 0 FORMAT JSONEachRow\n' +
        '{"event_id":"a","customer_id":"c-1"}\n{"event_id":"b","customer_id":"c-2"}',
    ])
    await insertJsonLines(client, table, [])
    expect(queries).toHaveLength(1)
  })

  it('writes an event as the JSON of its eventRow, which the column list covers', () => {
    const event: CustomerEvent = { event_id: crypto.randomUUID(), customer_id: 'c-"quoted"\n', event_time: Date.UTC(2026, 0, 1), type: 'support_ticket', payload: { ticket_id: 't\t1', category: 'billing', severity: 'low', resolved: true } }
    const source = { topic: 'customer.events', partition: 4, offset: '12' }
    const line = customerEventLine(event, source)
    expect(line).not.toContain('\n')
    expect(JSON.parse(line)).toEqual(eventRow(event, source))
    expect(Object.keys(JSON.parse(line) as object).every((field) => offlineTables.customerEvents.columns.includes(field))).toBe(true)
  })
})
