import { describe, expect, it } from 'vitest'
import { RetrainQueue, type RetrainRequestInfo } from '../../consumers/trainer/index.js'

const day = 86_400_000
const t0 = Date.UTC(2026, 5, 1)

let nextOffset = 0
function request(id: string, eventTime: number, partition = 0): RetrainRequestInfo {
  return { id, reason: 'drift', eventTime, partition, offset: String(nextOffset++) }
}

function queue(cooldownMs = 60_000, maxAttempts = 3): RetrainQueue {
  nextOffset = 0
  return new RetrainQueue({ cooldownMs, maxAttempts })
}

describe('retrain request queue', () => {
  it('coalesces requests that arrive before a run into that one run, trained up to the newest event time', () => {
    const q = queue()
    expect(q.offer(request('a', t0))).toBe('queued')
    expect(q.offer(request('b', t0 + day))).toBe('joined')
    expect(q.offer(request('c', t0))).toBe('joined')
    expect(q.offer(request('a', t0))).toBe('duplicate')
    const run = q.take(0)
    expect(run).toMatchObject({ count: 3, asOf: t0 + day, attempt: 1 })
    expect(run?.requests.map((r) => r.id)).toEqual(['a', 'b', 'c'])
    expect(q.take(0)).toBeUndefined()
  })

  it('holds requests that arrive during a run, or within the cooldown after it, in at most one pending run', () => {
    const q = queue(60_000)
    q.offer(request('a', t0))
    const first = q.take(1_000)
    if (first === undefined) throw new Error('no run')
    expect(q.offer(request('b', t0 + 2 * day))).toBe('queued')
    expect(q.offer(request('c', t0 + 3 * day))).toBe('joined')
    expect(q.take(2_000)).toBeUndefined()
    expect(q.readyIn(2_000)).toBeUndefined()
    expect(q.finish(first, { now: 10_000, dataEnd: t0 })).toEqual({ retried: false, covered: 0 })
    expect(q.offer(request('d', t0 + 3 * day))).toBe('joined')
    expect(q.pendingCount).toBe(3)
    // The cooldown runs in wall-clock time from the end of the last run.
    expect(q.readyIn(30_000)).toBe(40_000)
    expect(q.take(69_999)).toBeUndefined()
    expect(q.take(70_000)).toMatchObject({ count: 3, asOf: t0 + 3 * day })
  })

  it('drops requests whose event time the data of a finished run reached, pending or arriving later', () => {
    const q = queue()
    q.offer(request('a', t0 + 10 * day))
    const run = q.take(0)
    if (run === undefined) throw new Error('no run')
    // Duplicates of the same evidence arrive while it trains.
    expect(q.offer(request('b', t0 + 10 * day))).toBe('queued')
    expect(q.offer(request('c', t0 + 9 * day))).toBe('joined')
    expect(q.finish(run, { now: 5_000, dataEnd: t0 + 10 * day })).toEqual({ retried: false, covered: 2 })
    expect(q.pendingCount).toBe(0)
    expect(q.coveredUntil).toBe(t0 + 10 * day)
    expect(q.offer(request('d', t0 + 10 * day))).toBe('covered')
    expect(q.offer(request('e', t0 + 10 * day + 1))).toBe('queued')
  })

  it('covers only up to the data the run had, not the event time it was asked for', () => {
    const q = queue(0)
    q.offer(request('a', t0 + 30 * day))
    const run = q.take(0)
    if (run === undefined) throw new Error('no run')
    q.offer(request('b', t0 + 20 * day))
    // The offline store only reached t0 + 15 days: the evidence of b is not in the training data yet.
    expect(q.finish(run, { now: 1, dataEnd: t0 + 15 * day }).covered).toBe(0)
    expect(q.take(1)).toMatchObject({ count: 1, asOf: t0 + 20 * day })
  })

  it('takes a request delivered again after its run finished (a rebalance before the commit) for a duplicate', () => {
    const q = queue(0)
    q.offer(request('a', t0 + 30 * day))
    const run = q.take(0)
    if (run === undefined) throw new Error('no run')
    q.finish(run, { now: 1, dataEnd: t0 + 29 * day })
    expect(q.offer(request('a', t0 + 30 * day))).toBe('duplicate')
    expect(q.take(2)).toBeUndefined()
  })

  it('retries a failed run after the cooldown, at most maxAttempts times, and a new request gives fresh attempts', () => {
    const q = queue(1_000, 2)
    q.offer(request('a', t0))
    let run = q.take(0)
    if (run === undefined) throw new Error('no run')
    expect(q.finish(run, { now: 100, retry: true })).toEqual({ retried: true, covered: 0 })
    expect(q.take(500)).toBeUndefined()
    run = q.take(1_100)
    expect(run).toMatchObject({ count: 1, attempt: 2 })
    if (run === undefined) throw new Error('no run')
    expect(q.finish(run, { now: 2_000, retry: true })).toEqual({ retried: false, covered: 0 })
    expect(q.take(10_000)).toBeUndefined()

    q.offer(request('b', t0 + day))
    run = q.take(10_000)
    if (run === undefined) throw new Error('no run')
    q.offer(request('c', t0 + 2 * day))
    q.finish(run, { now: 11_000, retry: true })
    expect(q.take(12_000)).toMatchObject({ count: 2, asOf: t0 + 2 * day, attempt: 1 })
  })

  it('commits no offset past a request that is pending or running, and everything once they are handled', () => {
    const q = queue(0)
    q.skip(0, '0')
    expect(q.committable()).toEqual([{ partition: 0, offset: '1' }])
    q.markCommitted(q.committable())
    expect(q.committable()).toEqual([])
    q.offer({ id: 'a', reason: 'drift', eventTime: t0, partition: 0, offset: '1' })
    q.skip(0, '2')
    q.offer({ id: 'b', reason: 'drift', eventTime: t0, partition: 1, offset: '7' })
    // Up to, not past, the first outstanding request of each partition.
    expect(q.committable()).toEqual([{ partition: 1, offset: '7' }])
    q.markCommitted(q.committable())
    const run = q.take(0)
    if (run === undefined) throw new Error('no run')
    q.offer({ id: 'c', reason: 'drift', eventTime: t0 + day, partition: 0, offset: '3' })
    expect(q.committable()).toEqual([])
    q.finish(run, { now: 0, dataEnd: t0 })
    // c is pending at offset 3 of partition 0: a crash now consumes it again, and nothing before it.
    expect(q.committable()).toEqual([{ partition: 0, offset: '3' }, { partition: 1, offset: '8' }])
    q.markCommitted(q.committable())
    const second = q.take(0)
    if (second === undefined) throw new Error('no run')
    expect(q.committable()).toEqual([])
    q.finish(second, { now: 0, dataEnd: t0 + day })
    expect(q.committable()).toEqual([{ partition: 0, offset: '4' }])
  })

  it('takes a run that waits for data again after the wait, with its attempt, the newest drift start and the requests since, and no cooldown', () => {
    const q = queue(600_000, 2)
    q.offer({ ...request('a', t0 + 40 * day), driftFrom: t0 })
    q.offer(request('m', t0 + 10 * day))
    const first = q.take(0)
    expect(first).toMatchObject({ count: 2, asOf: t0 + 40 * day, driftFrom: t0, attempt: 1 })
    if (first === undefined) throw new Error('no run')
    q.offer({ ...request('b', t0 + 50 * day), driftFrom: t0 + 7 * day })
    expect(q.finish(first, { now: 1_000, waitMs: 5_000 })).toEqual({ retried: false, covered: 0 })
    // Not a run: neither the 10-minute cooldown nor coverage of its data applies, only the wait.
    expect(q.coveredUntil).toBe(Number.NEGATIVE_INFINITY)
    expect(q.readyIn(2_000)).toBe(4_000)
    expect(q.take(5_999)).toBeUndefined()
    const again = q.take(6_000)
    expect(again).toMatchObject({ count: 3, asOf: t0 + 50 * day, driftFrom: t0 + 7 * day, attempt: 1 })
    expect(again?.requests.map((r) => r.id)).toEqual(['a', 'm', 'b'])
    // Nothing past a waiting run's first request may be committed.
    expect(q.committable()).toEqual([{ partition: 0, offset: '0' }])
  })

  it('lists a bounded number of requests per run and counts them all', () => {
    const q = new RetrainQueue({ cooldownMs: 0, maxAttempts: 1, maxListed: 3 })
    for (let i = 0; i < 10; i++) q.offer({ id: `r${i}`, reason: 'schedule', eventTime: t0 + i, partition: 0, offset: String(i) })
    const run = q.take(0)
    expect(run?.count).toBe(10)
    expect(run?.requests.map((r) => r.id)).toEqual(['r0', 'r1', 'r2'])
    expect(run?.asOf).toBe(t0 + 9)
  })
})
