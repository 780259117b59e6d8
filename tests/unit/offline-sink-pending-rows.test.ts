import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PendingRows } from '../../consumers/offline-sink/pending-rows.js'

interface Row {
  partition: number
  offset: number
}

describe('PendingRows', () => {
  it('makes a partition committable only once every row consumed before the position is settled', () => {
    const pending = new PendingRows<Row>()
    pending.append(0, [{ partition: 0, offset: 0 }, { partition: 0, offset: 1 }], '2')
    pending.append(1, [{ partition: 1, offset: 0 }], '1')
    pending.append(0, [{ partition: 0, offset: 2 }], '3')
    expect(pending.uncommitted()).toEqual([])

    pending.settle(1)
    expect(pending.uncommitted()).toEqual([])
    pending.settle(1)
    expect(pending.uncommitted()).toEqual([{ partition: 0, offset: '2' }])
    pending.settle(1)
    expect(pending.uncommitted()).toEqual([{ partition: 0, offset: '2' }, { partition: 1, offset: '1' }])
    expect(pending.size).toBe(1)
  })

  it('commits past a batch of only bad records as soon as the rows before it are settled', () => {
    const pending = new PendingRows<Row>()
    pending.append(2, [], '7')
    expect(pending.uncommitted()).toEqual([{ partition: 2, offset: '7' }])
    pending.append(2, [{ partition: 2, offset: 7 }], '8')
    pending.append(2, [], '12')
    pending.settle(1)
    expect(pending.uncommitted()).toEqual([{ partition: 2, offset: '12' }])
  })

  it('never moves a committed position back when a partition is consumed again after a rebalance', () => {
    const pending = new PendingRows<Row>()
    pending.append(0, [{ partition: 0, offset: 4 }], '5')
    pending.settle(1)
    const first = pending.uncommitted()
    pending.committed(first)
    expect(pending.uncommitted()).toEqual([])
    // Consumed again from the last committed offset: nothing new to commit.
    pending.append(0, [{ partition: 0, offset: 3 }, { partition: 0, offset: 4 }], '5')
    pending.settle(2)
    expect(pending.uncommitted()).toEqual([])
  })

  it('refuses to settle more rows than are pending', () => {
    const pending = new PendingRows<Row>()
    pending.append(0, [{ partition: 0, offset: 0 }], '1')
    expect(() => { pending.settle(2) }).toThrow(RangeError)
  })

  it('never offers a position ahead of an unsettled row, whatever the interleaving', () => {
    type Step = { kind: 'consume'; partition: number; records: number; bad: number } | { kind: 'settle'; rows: number }
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('consume' as const), partition: fc.integer({ min: 0, max: 3 }), records: fc.integer({ min: 0, max: 6 }), bad: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('settle' as const), rows: fc.integer({ min: 0, max: 8 }) }),
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const pending = new PendingRows<Row>()
        const next = new Map<number, number>()
        const committed = new Map<number, number>()
        const commit = (positions: ReturnType<typeof pending.uncommitted>): void => {
          for (const { partition, offset } of positions) committed.set(partition, Number(offset))
          pending.committed(positions)
        }
        const unsettled: Row[] = []
        const check = (): void => {
          for (const { partition, offset } of pending.uncommitted()) {
            const position = Number(offset)
            // Every row of the partition below the position is settled.
            expect(unsettled.some((row) => row.partition === partition && row.offset < position)).toBe(false)
            // And the position was reached by consumption.
            expect(position).toBeLessThanOrEqual(next.get(partition) ?? 0)
          }
        }
        for (const current of steps) {
          if (current.kind === 'consume') {
            const start = next.get(current.partition) ?? 0
            const rows = Array.from({ length: current.records }, (_, i) => ({ partition: current.partition, offset: start + i }))
            // Bad records take offsets but add no rows.
            const end = start + current.records + current.bad
            next.set(current.partition, end)
            pending.append(current.partition, rows, String(end))
            unsettled.push(...rows)
          } else {
            const count = Math.min(current.rows, pending.size)
            expect(pending.peek(count)).toEqual(unsettled.slice(0, count))
            pending.settle(count)
            unsettled.splice(0, count)
            const offered = pending.uncommitted()
            check()
            commit(offered)
          }
        }
        check()
        // Once everything is settled, every partition is committable up to where it was consumed.
        pending.settle(pending.size)
        commit(pending.uncommitted())
        expect(committed).toEqual(next)
      }),
    )
  })
})
