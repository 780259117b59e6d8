import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { Message } from 'kafkajs'
import { afterAll, describe, expect, it } from 'vitest'
import { createOfflineClient } from '../../core/clickhouse.js'
import { parseConfig, projectRoot } from '../../core/config.js'
import { createIdempotentProducer } from '../../core/kafka.js'
import { driftOptionsFromConfig, startDrift } from '../../consumers/drift/index.js'
import type { DriftReportRecord, RetrainRequestRecord } from '../../drift/index.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { loadSchema } from '../../schemas/avro.js'
import type { TopicCatalog } from '../../schemas/catalog.js'
import { AvroCodec } from '../../schemas/codec.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import type { CustomerEvent } from '../../schemas/events.js'
import { ModelEventPublisher, ModelRegistry } from '../../trainer/registry/index.js'
import { consumeUntil, tempDir, testCatalog, testKafka, testRegistry, testRoleContext } from '../support/factories.js'
import { random, trainedArtifacts } from '../support/models.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T0 = Date.UTC(2024, 0, 1)
const names = ['tenure', 'charges', 'usage', 'tickets']
const featureSetVersion = 'fs-drift-crash'
/** Above the default `minRecords` and `minScores` (500), so windows can breach with the role's defaults. */
const PER_WINDOW = 520

const kafka = testKafka()
const registry = testRegistry()
// The same input goes through the role twice: in child processes that are SIGKILLed (`crashed`), and once in this
// process without interruption (`straight`), each on its own topics.
const crashed = await testCatalog(kafka, 2)
const straight = await testCatalog(kafka, 2)

const children: ChildProcess[] = []
// Whatever happens in the test, no drift process outlives it.
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

// One registered champion, announced on both catalogs' model topics: the same version, the same reference.
const client = createOfflineClient({ path: tempDir('chdb-drift-crash') })
await migrate(client)
const publishers = [crashed, straight].map((catalog) => new ModelEventPublisher(kafka, registry, catalog))
const models = new ModelRegistry(client, {
  onTransition: async (...args) => {
    for (const publisher of publishers) await publisher.listener(...args)
  },
})
afterAll(async () => {
  for (const publisher of publishers) await publisher.close()
  await client.close()
})
const artifacts = trainedArtifacts(names, featureSetVersion, { seed: 9, rows: 2_000, trees: 5 })
const { version: champion } = await models.register({
  artifact: artifacts.gbdt, modelType: 'gbdt', featureSetVersion, metrics: { roc_auc: 0.8 }, params: {}, trainingWindow: { from: 0, to: 1 }, dataHash: 'h', codeVersion: 'test', actor: 'test',
})
await models.promote(champion, 'test', 'the champion drift compares with')

/** What `churn run --roles drift` reads from the environment: hour windows, two breaching windows, 1 h cooldown, a 2 h schedule. */
const driftEnv = {
  DRIFT_WINDOW_MS: String(HOUR),
  DRIFT_ALLOWED_LATENESS_MS: String(MINUTE),
  DRIFT_CONSECUTIVE_WINDOWS: '2',
  DRIFT_COOLDOWN_MS: String(HOUR),
  DRIFT_PSI_THRESHOLD: '0.25',
  DRIFT_SCHEDULE_HOURS: '2',
  // Small fetches make many small batches, so kills land between and inside transactions.
  DRIFT_MAX_BYTES_PER_PARTITION: '4096',
  KAFKA_SESSION_TIMEOUT_MS: '6000',
}

interface Encoders {
  vectors: AvroCodec
  scores: AvroCodec
  events: CustomerEventCodec
}

async function encoders(catalog: TopicCatalog): Promise<Encoders> {
  const codecs = {
    vectors: new AvroCodec(registry, loadSchema('featureVector'), `${catalog.customerFeatures.name}-value`),
    scores: new AvroCodec(registry, loadSchema('churnScore'), `${catalog.scores.name}-value`),
    events: new CustomerEventCodec(registry, catalog.customerEvents),
  }
  await Promise.all([codecs.vectors.schemaId(), codecs.scores.schemaId(), codecs.events.schemaId()])
  return codecs
}

/**
 * Window k ([T0 + k h, T0 + (k + 1) h)) of each input, in event-time order on every partition: `count` vectors and
 * scores and half as many customer events (cancellations of customers scored above 0.3). From window 1 on, two features
 * and the scores have drifted.
 */
function windowRecords(codecs: Encoders, k: number, count: number, fromMinute = 0): { features: Message[]; scores: Message[]; events: Message[] } {
  const next = random(500 + k)
  const start = T0 + k * HOUR + fromMinute * MINUTE
  const step = Math.floor((HOUR - fromMinute * MINUTE - 15 * MINUTE) / count)
  const out = { features: [] as Message[], scores: [] as Message[], events: [] as Message[] }
  for (let i = 0; i < count; i++) {
    const at = start + i * step
    const customer = `c${k}-${i}`
    const partition = i % 2
    const values = names.map((_, f) => {
      const value = next() < 0.05 ? Number.NaN : Math.fround(Math.round(next() * 100) / 10)
      return k >= 1 && f < 2 && !Number.isNaN(value) ? Math.fround(7 + (value * 3) / 10) : value
    })
    out.features.push({ key: customer, partition, value: codecs.vectors.encode({ customer_id: customer, feature_set_version: featureSetVersion, values, newest_event_time: at, computed_at: at, source_partition: partition, source_offset: i }) })
    const probability = k >= 1 ? 0.5 + next() * 0.5 : next() * 0.5
    out.scores.push({
      key: customer,
      partition,
      value: codecs.scores.encode({ customer_id: customer, probability, risk_band: 'low', model_version: champion, feature_set_version: featureSetVersion, feature_age_ms: 0, top_reasons: [], fallback_level: 'champion', source_event_time: at, scored_at: at }),
    })
    if (i % 2 === 0) {
      const event: CustomerEvent = probability > 0.3
        ? { event_id: `00000000-0000-4000-8000-${String(k * 10_000 + i).padStart(12, '0')}`, customer_id: customer, event_time: at + 10 * MINUTE, type: 'cancellation', payload: { reason: 'price', voluntary: true } }
        : { event_id: `00000000-0000-4000-8000-${String(k * 10_000 + i).padStart(12, '0')}`, customer_id: customer, event_time: at + 10 * MINUTE, type: 'usage', payload: { sessions: 3, minutes: 42, data_mb: 100 } }
      out.events.push({ key: customer, partition: (i / 2) % 2, value: codecs.events.encode(event) })
    }
  }
  return out
}

/** Windows 0-4 in full, then a few records at 05:05 on every partition that move the watermark past 05:00. */
async function publishInput(catalog: TopicCatalog): Promise<number> {
  const codecs = await encoders(catalog)
  const windows = [0, 1, 2, 3, 4].map((k) => windowRecords(codecs, k, PER_WINDOW)).concat([windowRecords(codecs, 5, 8, 5)])
  const byTopic: [string, Message[]][] = [
    [catalog.customerFeatures.name, windows.flatMap((w) => w.features)],
    [catalog.scores.name, windows.flatMap((w) => w.scores)],
    [catalog.customerEvents.name, windows.flatMap((w) => w.events)],
  ]
  const producer = createIdempotentProducer(kafka)
  await producer.connect()
  try {
    // Small sends make small record batches, so fetches (and transactions) stay small too.
    const longest = Math.max(...byTopic.map(([, messages]) => messages.length))
    for (let i = 0; i < longest; i += 40) {
      await producer.sendBatch({ acks: -1, topicMessages: byTopic.map(([topic, messages]) => ({ topic, messages: messages.slice(i, i + 40) })).filter((entry) => entry.messages.length > 0) })
    }
  } finally {
    await producer.disconnect()
  }
  return byTopic.reduce((sum, [, messages]) => sum + messages.length, 0)
}

function startDriftProcess(instance: string): ChildProcess {
  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'churn.js'), 'run', '--roles', 'drift', '--instance', instance], {
    env: { ...process.env, ...driftEnv, TOPIC_PREFIX: crashed.prefix, METRICS_PORT: '0', LOG_LEVEL: 'info' },
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
    child.once('exit', (code) => { reject(new Error(`drift process exited with ${code ?? 'a signal'} before running`)) })
  })
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  return new Promise((resolve) => child.once('exit', (code) => { resolve(code) }))
}

/** Records of the inputs whose transaction committed: the sum of the group's committed offsets. */
async function committed(catalog: TopicCatalog, groupId: string): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const topics = await admin.fetchOffsets({ groupId, topics: [catalog.customerFeatures.name, catalog.scores.name, catalog.customerEvents.name] })
    return topics.flatMap((topic) => topic.partitions).reduce((sum, partition) => sum + Math.max(0, Number(partition.offset)), 0)
  } finally {
    await admin.disconnect()
  }
}

function omit<T extends object, K extends keyof T>(value: T, key: K): Omit<T, K> {
  return Object.fromEntries(Object.entries(value).filter(([name]) => name !== key)) as Omit<T, K>
}

/** Committed reports and requests (read_committed), without their processing-time stamps. */
async function outputs(catalog: TopicCatalog, reports: number, requests: number): Promise<{ reports: Omit<DriftReportRecord, 'created_at'>[]; requests: Omit<RetrainRequestRecord, 'requested_at'>[] }> {
  const reportCodec = new AvroCodec(registry, loadSchema('driftReport'), `${catalog.driftReports.name}-value`)
  const requestCodec = new AvroCodec(registry, loadSchema('retrainRequest'), `${catalog.retrainRequests.name}-value`)
  const decode = async <T>(codec: AvroCodec, values: (Buffer | null)[]): Promise<T[]> => Promise.all(values.map(async (value) => {
    const decoded = await codec.decode(value)
    if (!decoded.ok) throw new Error(decoded.message)
    return decoded.value as T
  }))
  // Everything committed is there by now: read for a while, or until one more than expected (a duplicate) shows up.
  const [reportRecords, requestRecords] = await Promise.all([
    consumeUntil(kafka, catalog.driftReports.name, (read) => read.length > reports, { timeoutMs: 8_000 }),
    consumeUntil(kafka, catalog.retrainRequests.name, (read) => read.length > requests, { timeoutMs: 8_000 }),
  ])
  return {
    reports: (await decode<DriftReportRecord>(reportCodec, reportRecords.map((record) => record.value))).map((report) => omit(report, 'created_at')),
    requests: (await decode<RetrainRequestRecord>(requestCodec, requestRecords.map((record) => record.value))).map((request) => omit(request, 'requested_at')),
  }
}

describe('drift role under SIGKILL', () => {
  it('publishes the same reports and retrain requests as a run without crashes: same ids and statistics, none twice, none missing', async () => {
    const [total] = await Promise.all([publishInput(crashed), publishInput(straight)])

    // The uninterrupted run, in this process, with the options the environment gives the child processes.
    const straightConfig = parseConfig({ ...process.env, ...driftEnv, TOPIC_PREFIX: straight.prefix })
    const straightOptions = driftOptionsFromConfig(straightConfig)
    const role = await startDrift(testRoleContext(straight, straightConfig), straightOptions)
    const straightDone = (async () => {
      const deadline = Date.now() + 60_000
      while ((await committed(straight, `${straight.prefix}churn-drift`)) < total && Date.now() < deadline) await delay(200)
      await role.close()
    })()

    const groupId = `${crashed.prefix}churn-drift`
    const progress: number[] = []
    for (let round = 0; round < 3; round += 1) {
      // A new instance id each time: the transactional id comes from the group, so each process fences the last one.
      const child = startDriftProcess(`drift-crash-${round}-${randomUUID().slice(0, 4)}`)
      await running(child)
      // Kill as soon as this process has committed something: in the middle of the stream, mid-transaction or not.
      const before = await committed(crashed, groupId)
      const deadline = Date.now() + 20_000
      while ((await committed(crashed, groupId)) <= before && Date.now() < deadline) await delay(20)
      child.kill('SIGKILL')
      await exited(child)
      progress.push(await committed(crashed, groupId))
    }
    // The kills landed while work remained, after each process had made progress.
    expect(progress.filter((count, i) => count > (progress[i - 1] ?? 0) && count < total).length).toBe(3)

    // A last run to completion, stopped gracefully once every input record is committed.
    const final = startDriftProcess(`drift-crash-final-${randomUUID().slice(0, 4)}`)
    await running(final)
    const deadline = Date.now() + 30_000
    while ((await committed(crashed, groupId)) < total && Date.now() < deadline) await delay(200)
    final.kill('SIGTERM')
    expect(await exited(final)).toBe(0)
    await straightDone

    // Windows 0-4 close (the watermark stands at 05:34); the scores of window 0 are the baseline. Drift from window 1:
    // requests after windows 1-2 (at 03:00) and 3-4 (at 05:00, one hour of cooldown later), schedule ticks at 02:00 and 04:00.
    const [expected, actual] = await Promise.all([outputs(straight, 5, 4), outputs(crashed, 5, 4)])
    expect(expected.reports.map((report) => [report.report_id, report.records, report.breached])).toEqual(
      [0, 1, 2, 3, 4].map((k) => [`drift:${champion}:${new Date(T0 + k * HOUR).toISOString()}`, PER_WINDOW, k >= 1]),
    )
    expect(expected.requests.map((request) => request.request_id).sort()).toEqual([
      `drift:${champion}:${new Date(T0 + HOUR).toISOString()}`,
      `drift:${champion}:${new Date(T0 + 3 * HOUR).toISOString()}`,
      `schedule:${new Date(T0 + 2 * HOUR).toISOString()}`,
      `schedule:${new Date(T0 + 4 * HOUR).toISOString()}`,
    ])

    const byId = <T extends { report_id: string } | { request_id: string }>(items: T[]): T[] =>
      [...items].sort((a, b) => ('report_id' in a ? a.report_id : a.request_id).localeCompare('report_id' in b ? b.report_id : b.request_id))
    expect(byId(actual.reports)).toEqual(byId(expected.reports))
    expect(byId(actual.requests)).toEqual(byId(expected.requests))
  }, 120_000)
})
