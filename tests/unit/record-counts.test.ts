import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { deadLetterMessage } from '../../core/dead-letter.js'
import { RecordCounts } from '../../core/record-counts.js'

function consumed(offset: string): { key: Buffer; value: Buffer; offset: string; timestamp: string; attributes: number; headers: Record<string, Buffer> } {
  return { key: Buffer.from('k'), value: Buffer.from('v'), offset, timestamp: '0', attributes: 0, headers: {} }
}

const letter = (offset: string, reason: string) => deadLetterMessage(consumed(offset), { topic: 'in', partition: 0, reason, error: 'bad', stage: 'test' })

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(name)?.get()
  return Object.fromEntries((metric?.values ?? []).map((v) => [Object.values(v.labels).join(','), v.value]))
}

describe('record counts', () => {
  it('counts a committed batch: records consumed, produced per destination, dead letters per reason of the source topic', async () => {
    const registry = new Registry()
    const counts = new RecordCounts(registry, 'ingest')
    counts.committed('in', 5, [
      { topic: 'out', messages: [{ value: 'a' }, { value: 'b' }] },
      { topic: 'in.dlq', messages: [letter('3', 'BAD_MAGIC_BYTE'), letter('4', 'LATE_EVENT'), letter('5', 'LATE_EVENT')] },
      { topic: 'empty', messages: [] },
    ])
    expect(await values(registry, 'churn_records_consumed_total')).toEqual({ 'ingest,in': 5 })
    expect(await values(registry, 'churn_records_produced_total')).toEqual({ 'ingest,out': 2, 'ingest,in.dlq': 3 })
    expect(await values(registry, 'churn_records_dead_lettered_total')).toEqual({ 'ingest,in,BAD_MAGIC_BYTE': 1, 'ingest,in,LATE_EVENT': 2 })
  })

  it('holds the counts of batches committed later until a commit reaches them, with dead letters sent in between', async () => {
    const registry = new Registry()
    const held = new RecordCounts(registry, 'sink').uncommitted()
    held.consumed('in', 0, '10', 10)
    held.consumed('in', 0, '20', 10, [{ topic: 'in.dlq', messages: [letter('12', 'BAD_MAGIC_BYTE')] }])
    held.consumed('in', 1, '5', 5)
    // A row of the second batch refused later.
    held.produced('in', 0, '15', [{ topic: 'in.dlq', messages: [letter('15', 'CLICKHOUSE_REJECTED')] }])
    expect(await values(registry, 'churn_records_consumed_total')).toEqual({})

    held.committed('in', 0, '10')
    expect(await values(registry, 'churn_records_consumed_total')).toEqual({ 'sink,in': 10 })
    expect(await values(registry, 'churn_records_dead_lettered_total')).toEqual({})

    held.committed('in', 0, '20')
    held.committed('in', 0, '20')
    expect(await values(registry, 'churn_records_consumed_total')).toEqual({ 'sink,in': 20 })
    expect(await values(registry, 'churn_records_produced_total')).toEqual({ 'sink,in.dlq': 2 })
    expect(await values(registry, 'churn_records_dead_lettered_total')).toEqual({ 'sink,in,BAD_MAGIC_BYTE': 1, 'sink,in,CLICKHOUSE_REJECTED': 1 })

    // Partition 1 was never committed: its batch is not counted.
    held.committed('in', 1, '4')
    expect(await values(registry, 'churn_records_consumed_total')).toEqual({ 'sink,in': 20 })
  })

  it('shares one set of series per registry between roles', async () => {
    const registry = new Registry()
    new RecordCounts(registry, 'a').committed('t', 1)
    new RecordCounts(registry, 'b').committed('t', 2)
    expect(await values(registry, 'churn_records_consumed_total')).toEqual({ 'a,t': 1, 'b,t': 2 })
  })
})
