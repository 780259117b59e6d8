import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { config, projectRoot } from '../../core/config.js'
import { createIdempotentProducer } from '../../core/kafka.js'
import { createRedis } from '../../core/redis.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { FeatureSet, type CustomerState } from '../../feature-store/feature-set.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import { OnlineStore } from '../../feature-store/online/online-store.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import { customerStreamsArbitrary } from '../support/event-streams.js'
import { latestChangelogVectors, testCatalog, testKafka, testRegistry, uniqueName } from '../support/factories.js'

const kafka = testKafka()
const registry = testRegistry()
const catalog = await testCatalog(kafka, 2)

const children: ChildProcess[] = []
// Whatever happens in the test, no ingest process outlives it.
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

function startIngestProcess(env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'churn.js'), 'run', '--roles', 'ingest', '--instance', 'crash-test'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  return child
}

/** Resolves once the process logs that its roles run (its signal handlers are installed by then). */
function running(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      if (seen.includes('"msg":"running"')) resolve()
    })
    child.once('exit', (code) => { reject(new Error(`ingest process exited with ${code ?? 'a signal'} before running`)) })
  })
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  return new Promise((resolve) => child.once('exit', (code) => { resolve(code) }))
}

describe('ingest under SIGKILL', () => {
  it('ends with the same Redis state and changelog as a run without crashes', async () => {
    const featureSet = new FeatureSet(churnFeatures)
    const [generated = []] = fc.sample(customerStreamsArbitrary({ customers: 120, minEvents: 50, maxEvents: 60, start: Date.now() - 250 * 86_400_000 }), { numRuns: 1, seed: 11 })
    // Customers take turns (each keeps its own order), so every batch touches many customers.
    const queues = new Map<string, typeof generated>()
    for (const event of generated) queues.set(event.customer_id, [...(queues.get(event.customer_id) ?? []), event])
    const events: typeof generated = []
    while (events.length < generated.length) for (const queue of queues.values()) { const next = queue.shift(); if (next !== undefined) events.push(next) }
    const codec = new CustomerEventCodec(registry, catalog.customerEvents)
    await codec.schemaId()
    const producer = createIdempotentProducer(kafka)
    await producer.connect()
    // Small sends make small record batches, so fetches (and transactions) stay small too.
    for (let i = 0; i < events.length; i += 25) {
      await producer.send({ topic: catalog.customerEvents.name, acks: -1, messages: events.slice(i, i + 25).map((event) => ({ key: event.customer_id, value: codec.encode(event) })) })
    }
    await producer.disconnect()

    const keyPrefix = `${uniqueName('crash')}:`
    // Small fetches make many small batches, so kills land between and inside transactions.
    const env = { TOPIC_PREFIX: catalog.prefix, ONLINE_KEY_PREFIX: keyPrefix, METRICS_PORT: '0', LOG_LEVEL: 'info', INGEST_MAX_BYTES_PER_PARTITION: '2048', KAFKA_SESSION_TIMEOUT_MS: '6000' }
    const redis = createRedis(config().REDIS_URL)
    await redis.connect()
    const store = new OnlineStore(redis, { keyPrefix })
    // The run without crashes: the feature engine over each customer's events in arrival order.
    const expected = new Map<string, CustomerState>()
    events.forEach((event, i) => {
      const state = expected.get(event.customer_id) ?? featureSet.emptyState()
      expected.set(event.customer_id, state)
      featureSet.apply(state, eventRow(event, { topic: 't', partition: 0, offset: String(i) }), i)
    })
    const customerIds = [...expected.keys()]
    // Records whose transaction committed: the group's committed offsets.
    const admin = kafka.admin()
    await admin.connect()
    const done = async (): Promise<number> => {
      const [offsets] = await admin.fetchOffsets({ groupId: `${catalog.prefix}churn-ingest`, topics: [catalog.customerEvents.name] })
      return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)
    }
    const progress: number[] = []
    for (let round = 0; round < 4; round += 1) {
      const child = startIngestProcess(env)
      await running(child)
      // Kill as soon as this process has written something: in the middle of the stream, mid-transaction or not.
      const before = await done()
      const deadline = Date.now() + 30_000
      while ((await done()) <= before && Date.now() < deadline) await delay(20)
      child.kill('SIGKILL')
      await exited(child)
      progress.push(await done())
    }
    // The kills landed while work remained, after each process had made progress.
    expect(progress.filter((count, i) => count > (progress[i - 1] ?? 0) && count < events.length).length).toBeGreaterThanOrEqual(3)
    // A last run to completion, stopped gracefully once every customer's vector is in Redis.
    const customers = customerIds
    const final = startIngestProcess(env)
    await running(final)
    const deadline = Date.now() + 90_000
    let vectors = await store.readVectors(customers)
    while (Date.now() < deadline) {
      vectors = await store.readVectors(customers)
      const done = vectors.every((vector, i) => vector !== undefined && vector.asOf === expected.get(customers[i] ?? '')?.newest)
      if (done) break
      await delay(300)
    }
    final.kill('SIGTERM')
    expect(await exited(final)).toBe(0)

    vectors.forEach((vector, i) => {
      const state = expected.get(customers[i] ?? '')
      if (vector === undefined || state === undefined) throw new Error(`no vector for ${customers[i] ?? '?'}`)
      expect(Array.from(vector.values)).toEqual(Array.from(featureSet.materialize(state)))
    })

    // Committed changelog: the latest record per customer is the no-crash vector; aborted ones are invisible.
    const latest = await latestChangelogVectors(kafka, registry, catalog, 6_000)
    expect(latest.size).toBe(customers.length)
    for (const customer of customers) {
      const state = expected.get(customer)
      expect(latest.get(customer)).toEqual(Array.from(state === undefined ? [] : featureSet.materialize(state)))
    }
    redis.disconnect()
    await admin.disconnect()
  }, 180_000)
})
