import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { runRoles } from '../../cli/run-command.js'
import { config, type Config } from '../../core/config.js'
import { createIdempotentProducer } from '../../core/kafka.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { FeatureSet } from '../../feature-store/feature-set.js'
import { buildTrainingSet } from '../../feature-store/offline/training-set.js'
import { runSimulation } from '../../producers/simulation-runner.js'
import { createSimulator, dayMs, type DriftKind } from '../../producers/simulator/index.js'
import { EventPublisher } from '../../producers/publisher/index.js'
import { PublisherSink } from '../../producers/sinks.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { registerSchemas } from '../../schemas/registration.js'
import { acquireModelLog } from '../../scoring/model-log.js'
import { ScoringModel } from '../../scoring/model.js'
import { rocAuc } from '../../trainer/evaluation/index.js'
import { pollUntil, tempDir, testCatalog, testKafka, testLogger, testRegistry, uniqueName } from '../support/factories.js'

/**
 * The closed loop on the real roles: a simulated business publishes a stationary history, a first
 * champion is trained from it, then live events (paced, so windows fill as they would in production)
 * carry drift or not. The drift role must notice the drift and ask for a model, the trainer must
 * train one on the drifted customers and promote it, and the scorer must serve it; without drift,
 * nothing may be asked for.
 */

const WEEK = 7 * dayMs
const CUSTOMERS = 1_500
const HISTORY_DAYS = 120
/** Live days before the drift: three reference-like windows. */
const BEFORE_DRIFT_DAYS = 28
const HORIZON_DAYS = 14
/** Days of post-drift observations the new model needs: a holdout of 11 and a purge of 14 leave 31 to train on. */
const POST_DRIFT_DAYS = 56
/** Live days after the drift: the drift's windows, and the post-drift labels a new model needs. */
const AFTER_DRIFT_DAYS = POST_DRIFT_DAYS + HORIZON_DAYS + 7
/** Days of streamed vectors the champion's drift reference is drawn from (the trainer's default). */
const REFERENCE_DAYS = 28
/** Simulated days per second while live. */
const SPEED = 2

const kafka = testKafka()
const featureSet = new FeatureSet(churnFeatures)

interface Scenario {
  settings: Config
  running: Awaited<ReturnType<typeof runRoles>>
  simulator: ReturnType<typeof createSimulator>
  publish: (from: number, to: number, daysPerSecond: number) => Promise<void>
  stop: () => Promise<void>
  liveStart: number
  driftAt: number
  liveEnd: number
}

let previous: Scenario | undefined

async function scenario(name: string, drift: DriftKind[]): Promise<Scenario> {
  // One embedded offline store per process: the previous scenario's roles stop first.
  await previous?.stop()
  const catalog = await testCatalog(kafka, 3)
  const settings: Config = {
    ...config(),
    TOPIC_PREFIX: catalog.prefix,
    TOPIC_PARTITIONS: 3,
    ONLINE_KEY_PREFIX: catalog.prefix,
    CLICKHOUSE_PATH: tempDir(`loop-${name}`),
    METRICS_PORT: 0,
    TRAINER_COOLDOWN_MS: 0,
    TRAINER_HORIZON_DAYS: HORIZON_DAYS,
    TRAINER_SAMPLE_EVERY_DAYS: 3,
    TRAINER_LOOKBACK_DAYS: 90,
    TRAINER_POST_DRIFT_DAYS: POST_DRIFT_DAYS,
    TRAINER_DATA_WAIT_CHECK_MS: 1_000,
    // Training off the event loop, as in production, so that the other roles of this process keep their sessions.
    TRAINER_THREAD: 'worker',
    DRIFT_WINDOW_MS: WEEK,
    // Three simulated days are 1.5 s at this pace: about what a vector may take through ingest while others pass it.
    DRIFT_ALLOWED_LATENESS_MS: 3 * dayMs,
    DRIFT_CONSECUTIVE_WINDOWS: 2,
    DRIFT_COOLDOWN_MS: 8 * WEEK,
    SCORER_TOP_REASONS: 0,
    SHUTDOWN_TIMEOUT_MS: 60_000,
  }
  await registerSchemas(testRegistry(), settings.SCHEMA_REGISTRY_URL, catalog.topics)
  // The roles' logs go to the stack's log directory, to read when the test fails.
  const logFile = join(settings.STACK_DIR, 'logs', `${catalog.prefix}loop-${name}.log`)
  const running = await runRoles({
    roles: ['ingest', 'offline-sink', 'scorer', 'drift', 'trainer'],
    settings: { ...settings, LOG_LEVEL: 'info' },
    instanceId: uniqueName(`loop-${name}`),
    handleSignals: false,
    logDestination: pino.destination({ dest: logFile, mkdir: true, sync: false }),
  })
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => (stopped ??= running.lifecycle.shutdown())
  afterAll(stop, 90_000)
  const end = Math.floor(Date.UTC(2026, 0, 1) / dayMs) * dayMs
  const liveStart = end - (BEFORE_DRIFT_DAYS + AFTER_DRIFT_DAYS) * dayMs
  const driftAt = liveStart + BEFORE_DRIFT_DAYS * dayMs
  const start = liveStart - HISTORY_DAYS * dayMs
  // Signups in proportion to the simulator's defaults (10 a day for 10,000 customers), so the base stays stable.
  const simulator = createSimulator({ seed: 11, customers: CUSTOMERS, signupsPerDay: CUSTOMERS / 1_000, start, drift: drift.map((kind) => ({ at: driftAt, kind })) })
  const sink = new PublisherSink(new EventPublisher({ kafka: running.context.kafka, registry: running.context.registry, topic: running.context.catalog.customerEvents, logger: testLogger }))
  afterAll(() => sink.close())
  await sink.write(simulator.advanceTo(start))
  const publish = async (from: number, to: number, daysPerSecond: number): Promise<void> => {
    await runSimulation(simulator, sink, from, to, { durationMs: Number.POSITIVE_INFINITY, daysPerSecond, maxEventsPerSecond: Number.POSITIVE_INFINITY })
  }
  previous = { settings, running, simulator, publish, stop, liveStart, driftAt, liveEnd: end }
  return previous
}

/** Total lag of the scenario's consumer groups whose name ends with `role`. */
async function lag(s: Scenario, role: string): Promise<number> {
  const admin = s.running.context.kafka.admin()
  await admin.connect()
  try {
    const groupId = `${s.settings.TOPIC_PREFIX}churn-${role}`
    const committed = await admin.fetchOffsets({ groupId })
    let total = 0
    for (const { topic, partitions } of committed) {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]))
      for (const { partition, offset } of partitions) {
        const end = ends.get(partition) ?? 0n
        total += Number(end - (offset === '-1' ? 0n : BigInt(offset)))
      }
    }
    return committed.length === 0 ? Number.POSITIVE_INFINITY : total
  } finally {
    await admin.disconnect()
  }
}

async function caughtUp(s: Scenario, roles: string[], timeoutMs: number): Promise<void> {
  const lags = await pollUntil(async () => Promise.all(roles.map((role) => lag(s, role))), (values) => values.every((value) => value === 0), timeoutMs, 1_000)
  expect(Object.fromEntries(roles.map((role, i) => [role, lags[i]]))).toEqual(Object.fromEntries(roles.map((role) => [role, 0])))
}

async function requestRetrain(s: Scenario, eventTime: number): Promise<void> {
  const { context } = s.running
  const codec = new AvroCodec(context.registry, loadSchema('retrainRequest'), `${context.catalog.retrainRequests.name}-value`)
  await codec.schemaId()
  const producer = createIdempotentProducer(context.kafka)
  await producer.connect()
  try {
    await producer.send({
      topic: context.catalog.retrainRequests.name,
      acks: -1,
      messages: [{ key: 'churn', value: codec.encode({ request_id: `test-${randomUUID()}`, requested_at: Date.now(), reason: 'manual', model_version: null, evidence: [], event_time: eventTime }) }],
    })
  } finally {
    await producer.disconnect()
  }
}

interface RequestRecord {
  request_id: string
  reason: string
  model_version: string | null
  evidence: { window_start: number; window_end: number; statistic: string; feature: string | null; value: number }[]
  event_time: number
}
interface ReportRecord {
  report_id: string
  window_start: number
  window_end: number
  model_version: string | null
  records: number
  breached: boolean
  breaches: string[]
}

/** Reads a topic from the beginning, decoded, until `until` holds for what was read or the time is up. */
async function decodeAll<T>(s: Scenario, topic: string, schema: 'retrainRequest' | 'driftReport' | 'churnScore', until: (records: T[]) => boolean, timeoutMs: number): Promise<T[]> {
  return (await decodeRecords<T>(s, topic, schema, (records) => until(records.map((r) => r.value)), timeoutMs)).map((r) => r.value)
}

/** The same, with the partition each record came from, in offset order per partition. */
async function decodeRecords<T>(s: Scenario, topic: string, schema: 'retrainRequest' | 'driftReport' | 'churnScore', until: (records: { partition: number; value: T }[]) => boolean, timeoutMs: number): Promise<{ partition: number; value: T }[]> {
  const codec = new AvroCodec(s.running.context.registry, loadSchema(schema), `${topic}-value`)
  const decoded: { partition: number; value: T }[] = []
  const consumer = kafka.consumer({ groupId: uniqueName('loop-reader') })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const outcome = await codec.decode(message.value)
          if (outcome.ok) decoded.push({ partition, value: outcome.value as T })
          if (until(decoded)) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
  } finally {
    await consumer.disconnect()
  }
  return decoded
}

/** The first champion, trained on the stationary history, serving before anything goes live. */
async function firstChampion(s: Scenario): Promise<{ log: ReturnType<typeof acquireModelLog>['log']; champion: string }> {
  // The history's last weeks stream at the live pace: the champion's drift reference is the vectors the stream
  // emitted then, and a stream published at full speed emits fewer, coalesced ones.
  const paced = s.liveStart - REFERENCE_DAYS * dayMs
  await s.publish(s.simulator.clock, paced, 0)
  await s.publish(paced, s.liveStart, SPEED)
  await caughtUp(s, ['ingest', 'offline-sink'], 120_000)
  const { log, release } = acquireModelLog(s.running.context)
  afterAll(release)
  await log.start(10_000)
  await requestRetrain(s, s.liveStart)
  const state = await pollUntil(() => Promise.resolve(log.state), (value) => value?.champion !== undefined, 180_000, 500)
  const champion = state?.champion
  if (champion === undefined) throw new Error('no first champion within 3 minutes')
  return { log, champion }
}

describe('the retraining loop', () => {
  it('detects injected drift within two windows, retrains on the drifted customers, promotes and serves a better model', async () => {
    const s = await scenario('drift', ['price_rise', 'concept'])
    const { log, champion: v1 } = await firstChampion(s)
    // Live: stationary weeks, then drift, paced.
    await s.publish(s.liveStart, s.liveEnd, SPEED)
    // Drift is detected within two windows of its injection, and a request names the drifted features.
    const driftRequests = await requestsFor(s, (r) => r.reason === 'drift', 120_000)
    const request = driftRequests[0]
    expect(request, 'a drift retrain request').toBeDefined()
    if (request === undefined) return
    expect(request.model_version).toBe(v1)
    const firstBreach = Math.min(...request.evidence.map((e) => e.window_start))
    expect(firstBreach).toBeGreaterThanOrEqual(s.driftAt - WEEK)
    expect(firstBreach).toBeLessThan(s.driftAt + 2 * WEEK)
    // Stationary windows before the drift did not breach.
    const reports = await decodeAll<ReportRecord>(s, s.running.context.catalog.driftReports.name, 'driftReport', (all) => all.some((r) => r.window_start >= firstBreach), 30_000)
    expect(reports.filter((r) => r.model_version === v1 && r.window_end <= s.driftAt && r.records > 0).length).toBeGreaterThanOrEqual(2)
    expect(reports.filter((r) => r.model_version === v1 && r.window_end <= s.driftAt && r.breached)).toEqual([])
    // The trainer waits for the drifted customers' labels, trains on them and promotes the challenger.
    const state = await pollUntil(() => Promise.resolve(log.state), (value) => value?.champion !== undefined && value.champion !== v1, 240_000, 1_000)
    const v2 = state?.champion
    expect(v2, 'a second champion').toBeDefined()
    if (v2 === undefined || v2 === v1) return
    // More drifted customers' events, which neither model has seen.
    const evaluationFrom = s.liveEnd
    await s.publish(s.liveEnd, s.liveEnd + (28 + HORIZON_DAYS) * dayMs, 0)
    await caughtUp(s, ['offline-sink', 'scorer'], 180_000)
    // The scorer hot-swapped: on every partition, scores by v2 follow scores by v1, never the other way round.
    const scores = await decodeRecords<{ model_version: string }>(s, s.running.context.catalog.scores.name, 'churnScore', () => false, 20_000)
    const byPartition = new Map<number, { partition: number; value: { model_version: string } }[]>()
    for (const record of scores) byPartition.set(record.partition, [...(byPartition.get(record.partition) ?? []), record])
    expect(byPartition.size).toBe(3)
    for (const [partition, records] of byPartition) {
      const versions = records.map((r) => r.value.model_version).filter((version) => version === v1 || version === v2)
      const firstNew = versions.indexOf(v2)
      expect(firstNew, `partition ${partition} serves ${v2}`).toBeGreaterThan(0)
      expect(versions.slice(firstNew).filter((version) => version !== v2), `partition ${partition} after the swap`).toEqual([])
    }
    // On those customers, the new champion ranks churners better than the old.
    const set = await buildTrainingSet(s.running.context.offline(), featureSet, {
      sampling: { everyDays: 3, from: evaluationFrom, to: evaluationFrom + 28 * dayMs },
      horizonDays: HORIZON_DAYS,
    })
    const rows = set.observations.length
    const x = Float32Array.from(set.features)
    const auc = async (version: string): Promise<number> => {
      const artifact = log.artifact(version)
      if (artifact === undefined) throw new Error(`no artifact for ${version}`)
      const model = await ScoringModel.load(version, artifact, { featureSetVersion: featureSet.version, featureNames: featureSet.names })
      try {
        return rocAuc(set.labels, await model.predict(x, rows))
      } finally {
        await model.release()
      }
    }
    const [oldAuc, newAuc] = [await auc(v1), await auc(v2)]
    console.log(`loop: ${rows} post-drift observations, ${set.labels.reduce((a, b) => a + b, 0)} churned; ROC-AUC ${v1} ${oldAuc.toFixed(4)}, ${v2} ${newAuc.toFixed(4)}`)
    expect(newAuc - oldAuc).toBeGreaterThan(0.02)
  }, 900_000)

  it('raises no retrain request over an equally long stationary stream', async () => {
    const s = await scenario('stationary', [])
    const { champion: v1 } = await firstChampion(s)
    await s.publish(s.liveStart, s.liveEnd, SPEED)
    await caughtUp(s, ['ingest', 'scorer', 'drift'], 180_000)
    // Every live window was closed and judged against v1: the monitor did run.
    const lastWindow = Math.floor((s.liveEnd - 2 * WEEK) / WEEK) * WEEK
    const reports = await decodeAll<ReportRecord>(s, s.running.context.catalog.driftReports.name, 'driftReport', (all) => all.some((r) => r.window_start >= lastWindow), 60_000)
    const judged = reports.filter((r) => r.model_version === v1 && r.window_start >= s.liveStart && r.records >= 500 && r.report_id.startsWith('drift:'))
    expect(judged.length).toBeGreaterThanOrEqual(Math.floor((s.liveEnd - s.liveStart) / WEEK) - 2)
    expect(judged.filter((r) => r.breached).map((r) => `${new Date(r.window_start).toISOString()}: ${r.breaches.join(', ')}`)).toEqual([])
    const requests = await decodeAll<RequestRecord>(s, s.running.context.catalog.retrainRequests.name, 'retrainRequest', () => false, 5_000)
    expect(requests.map((r) => r.reason)).toEqual(['manual'])
  }, 900_000)
})

async function requestsFor(s: Scenario, match: (r: RequestRecord) => boolean, timeoutMs: number): Promise<RequestRecord[]> {
  const all = await decodeAll<RequestRecord>(s, s.running.context.catalog.retrainRequests.name, 'retrainRequest', (records) => records.some(match), timeoutMs)
  return all.filter(match)
}
