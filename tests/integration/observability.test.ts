import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import fc from 'fast-check'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { runRoles } from '../../cli/run-command.js'
import { config, projectRoot, type Config } from '../../core/config.js'
import { deadLetterHeaders } from '../../core/dead-letter.js'
import { createIdempotentProducer, TransactionalPipeline } from '../../core/kafka.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { FeatureSet } from '../../feature-store/feature-set.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import { registerSchemas } from '../../schemas/registration.js'
import { riskBands } from '../../scoring/risk.js'
import { ModelEventPublisher, ModelRegistry } from '../../trainer/registry/index.js'
import { customerStreamsArbitrary } from '../support/event-streams.js'
import { consumeUntil, createTestTopics, pollUntil, tempDir, testCatalog, testKafka, testLogger, testRegistry, uniqueName, type ConsumedRecord } from '../support/factories.js'
import { trainedArtifacts } from '../support/models.js'

const kafka = testKafka()
const registry = testRegistry()
const catalog = await testCatalog(kafka, 2)
const settings: Config = {
  ...config(),
  TOPIC_PREFIX: catalog.prefix,
  TOPIC_PARTITIONS: 2,
  ONLINE_KEY_PREFIX: catalog.prefix,
  CLICKHOUSE_PATH: tempDir('chdb-observability'),
  METRICS_PORT: 0,
  SHUTDOWN_TIMEOUT_MS: 60_000,
}
await registerSchemas(registry, settings.SCHEMA_REGISTRY_URL, catalog.topics)
const running = await runRoles({
  roles: ['ingest', 'offline-sink', 'scorer', 'drift', 'trainer'],
  settings,
  instanceId: uniqueName('observability'),
  handleSignals: false,
  logDestination: pino.destination({ dest: join(settings.STACK_DIR, 'logs', `${catalog.prefix}observability.log`), mkdir: true, sync: false }),
})
afterAll(() => running.lifecycle.shutdown(), 90_000)

const group = (role: string): string => `${catalog.prefix}churn-${role}`

/** The series of a metric whose labels include `labels`. */
async function series(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<{ labels: Partial<Record<string, string | number>>; value: number }[]> {
  const values = (await metrics.getSingleMetric(name)?.get())?.values ?? []
  return values.filter((v) => Object.entries(labels).every(([key, want]) => String(v.labels[key]) === want))
}

async function sum(name: string, labels: Record<string, string> = {}): Promise<number> {
  return (await series(running.metrics, name, labels)).reduce((total, v) => total + v.value, 0)
}

/** Records of a topic as a read_committed reader sees them, once `count` have arrived (and a little longer, to see any extra). */
async function readTopic(topic: string, count: number): Promise<ConsumedRecord[]> {
  const first = await consumeUntil(kafka, topic, (read) => read.length >= count, { timeoutMs: 30_000 })
  return first.length > count ? first : consumeUntil(kafka, topic, () => false, { timeoutMs: 2_000 })
}

function countBy(records: ConsumedRecord[], header: string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const record of records) {
    const value = record.headers[header] ?? 'none'
    counts[value] = (counts[value] ?? 0) + 1
  }
  return counts
}

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(projectRoot, 'bin', 'churn.js'), ...args], { encoding: 'utf8', env: { ...process.env, TOPIC_PREFIX: catalog.prefix }, timeout: 30_000 })
}

describe('observability', () => {
  const [events = []] = fc.sample(customerStreamsArbitrary({ customers: 25, maxEvents: 12, start: Date.now() - 100 * 86_400_000 }), { numRuns: 1, seed: 5 })
  const bad = [{ key: 'bad-0', value: Buffer.from('not avro') }, { key: 'bad-1', value: Buffer.from([0, 0, 0, 0, 1]) }]

  it('counts what each role consumed, produced and dead-lettered as committed, and reports every group caught up with lag 0', async () => {
    const codec = new CustomerEventCodec(registry, catalog.customerEvents)
    await codec.schemaId()
    const producer = createIdempotentProducer(kafka)
    await producer.connect()
    try {
      await producer.send({ topic: catalog.customerEvents.name, acks: -1, messages: [...events.map((event) => ({ key: event.customer_id, value: codec.encode(event) })), ...bad] })
      await producer.send({ topic: catalog.retrainRequests.name, acks: -1, messages: [{ key: 'churn', value: Buffer.from('not a request') }] })
    } finally {
      await producer.disconnect()
    }
    const published = events.length + bad.length
    const events_ = catalog.customerEvents.name
    const features = catalog.customerFeatures.name
    const requests = catalog.retrainRequests.name
    const lagged = ['ingest', 'offline-sink', 'scorer', 'trainer'].map(group)

    const settled = await pollUntil(
      async () => {
        const lag = await series(running.metrics, 'churn_consumer_lag_records')
        return {
          ingest: await sum('churn_records_consumed_total', { role: 'ingest', topic: events_ }),
          sink: await sum('churn_records_consumed_total', { role: 'offline-sink', topic: events_ }),
          trainer: await sum('churn_records_consumed_total', { role: 'trainer', topic: requests }),
          changelog: await sum('churn_records_produced_total', { role: 'ingest', topic: features }),
          scorer: await sum('churn_records_consumed_total', { role: 'scorer', topic: features }),
          sinkFeatures: await sum('churn_records_consumed_total', { role: 'offline-sink', topic: features }),
          reporting: lagged.filter((id) => lag.some((v) => v.labels['group'] === id)),
          behind: lag.filter((v) => lagged.includes(String(v.labels['group']))).reduce((total, v) => total + v.value, 0),
        }
      },
      (s) => s.ingest === published && s.sink === published && s.trainer === 1 && s.changelog > 0 && s.scorer === s.changelog && s.sinkFeatures === s.changelog && s.reporting.length === lagged.length && s.behind === 0,
      90_000,
      500,
    )
    expect(settled).toMatchObject({ ingest: published, sink: published, trainer: 1, scorer: settled.changelog, sinkFeatures: settled.changelog, reporting: lagged, behind: 0 })

    // The ingest group's own partitions, each reported once and at 0.
    const ingestLag = await series(running.metrics, 'churn_consumer_lag_records', { group: group('ingest') })
    expect(ingestLag.map((v) => `${String(v.labels['topic'])}/${String(v.labels['partition'])}=${v.value}`).sort()).toEqual([`${events_}/0=0`, `${events_}/1=0`])

    // What ingest produced is what the topics hold, and its dead letters are counted by their reason header.
    expect((await readTopic(features, settled.changelog)).length).toBe(settled.changelog)
    const eventLetters = await readTopic(catalog.deadLetter(catalog.customerEvents).name, 4)
    const byStage = (stage: string): ConsumedRecord[] => eventLetters.filter((record) => record.headers[deadLetterHeaders.stage] === stage)
    expect(byStage('ingest').length).toBeGreaterThanOrEqual(bad.length)
    expect(await sum('churn_records_produced_total', { role: 'ingest', topic: catalog.deadLetter(catalog.customerEvents).name })).toBe(byStage('ingest').length)
    for (const [stage, role] of [['ingest', 'ingest'], ['offline-sink', 'offline-sink']] as const) {
      const reasons = countBy(byStage(stage), deadLetterHeaders.reason)
      const counted = Object.fromEntries((await series(running.metrics, 'churn_records_dead_lettered_total', { role, topic: events_ })).map((v) => [String(v.labels['reason']), v.value]))
      expect(counted).toEqual(reasons)
    }
    const requestLetters = await readTopic(catalog.deadLetter(catalog.retrainRequests).name, 1)
    expect(requestLetters).toHaveLength(1)
    const reason = requestLetters[0]?.headers[deadLetterHeaders.reason] ?? 'missing'
    expect(await series(running.metrics, 'churn_records_dead_lettered_total', { role: 'trainer' })).toEqual([{ labels: { role: 'trainer', topic: requests, reason }, value: 1 }])

    // Every committed score is counted once, by model role and risk band.
    const scores = await readTopic(catalog.scores.name, settled.scorer)
    expect(scores.length).toBe(settled.scorer)
    expect(await sum('churn_records_produced_total', { role: 'scorer', topic: catalog.scores.name })).toBe(scores.length)
    const byRisk = await series(running.metrics, 'churn_scores_total')
    expect(byRisk.reduce((total, v) => total + v.value, 0)).toBe(scores.length)
    for (const v of byRisk) {
      expect(v.labels['model_role']).toBe('champion')
      expect(riskBands).toContain(v.labels['risk'])
    }
  }, 150_000)

  it('serves a /metrics scrape that `promtool check metrics` accepts', async () => {
    const response = await fetch(running.metricsUrl)
    expect(response.status).toBe(200)
    const text = await response.text()
    for (const name of ['churn_records_consumed_total', 'churn_records_produced_total', 'churn_records_dead_lettered_total', 'churn_consumer_lag_records', 'churn_scores_total', 'churn_online_store_errors_total', 'churn_model_info']) {
      expect(text).toContain(`# TYPE ${name} `)
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    expect(check.error).toBeUndefined()
    expect({ status: check.status, output: `${check.stdout}${check.stderr}`.trim() }).toEqual({ status: 0, output: '' })
  })

  it('`churn stack status` shows the lag of each consumer group and the champion', async () => {
    const before = runCli(['stack', 'status'])
    expect(before.stderr).toBe('')
    const lines = before.stdout.split('\n')
    expect(lines).toContainEqual(expect.stringMatching(/^CONSUMER GROUP +LAG +BY TOPIC$/u))
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${group('ingest').replaceAll('.', '\\.')} +0 +${catalog.customerEvents.name.replaceAll('.', '\\.')} 0$`, 'u')))
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${group('offline-sink').replaceAll('.', '\\.')} +0 +.*${catalog.customerFeatures.name.replaceAll('.', '\\.')} 0`, 'u')))
    expect(lines).toContain('champion: none')

    // A promoted model shows up as soon as its event is in the model log.
    const featureSet = new FeatureSet(churnFeatures)
    const artifacts = trainedArtifacts(featureSet.names, featureSet.version, { rows: 300, trees: 3 })
    const publisher = new ModelEventPublisher(kafka, registry, catalog)
    try {
      const models = new ModelRegistry(running.context.offline(), { onTransition: publisher.listener })
      const { version } = await models.register({ artifact: artifacts.gbdt, modelType: 'gbdt', featureSetVersion: featureSet.version, metrics: { roc_auc: 0.8 }, params: {}, trainingWindow: { from: 0, to: 1 }, dataHash: 'h', codeVersion: 'test', actor: 'test' })
      await models.promote(version, 'test', 'a champion for the status')
      const after = runCli(['stack', 'status'])
      expect(after.stdout.split('\n')).toContain(`champion: ${version}`)
    } finally {
      await publisher.close()
    }
  }, 60_000)
})

describe('consumer lag of a transactional pipeline', () => {
  it('reads 0 once the pipeline is past a transaction aborted at the end of its input', async () => {
    const input = uniqueName('t.lag.in')
    await createTestTopics(kafka, [{ topic: input }])
    const metrics = new Registry()
    const groupId = uniqueName('g.lag')
    const pipeline = new TransactionalPipeline({
      kafka,
      logger: testLogger,
      groupId,
      transactionalId: uniqueName('tx.lag'),
      topics: [input],
      metrics: { registry: metrics, role: 'test', lagIntervalMs: 200 },
      transform: () => Promise.resolve([]),
    })
    const producer = createIdempotentProducer(kafka, { transactionalId: uniqueName('tx.lag.producer') })
    await producer.connect()
    try {
      await pipeline.start()
      const committed = await producer.transaction()
      await committed.send({ topic: input, messages: [{ value: 'a' }, { value: 'b' }] })
      await committed.commit()
      const lagOf = async (): Promise<number[]> => (await series(metrics, 'churn_consumer_lag_records', { group: groupId, topic: input })).map((v) => v.value)
      expect(await pollUntil(lagOf, (lag) => lag.length === 1 && lag[0] === 0, 30_000)).toEqual([0])
      expect(await series(metrics, 'churn_records_consumed_total')).toEqual([{ labels: { role: 'test', topic: input }, value: 2 }])

      // Fetched alone, the aborted records and their marker are skipped without a batch to commit; the group must still move past them.
      const aborted = await producer.transaction()
      await aborted.send({ topic: input, messages: [{ value: 'x' }, { value: 'y' }, { value: 'z' }] })
      await aborted.abort()
      const admin = kafka.admin()
      await admin.connect()
      try {
        // a, b, commit marker, x, y, z, abort marker.
        expect((await admin.fetchTopicOffsets(input))[0]?.high).toBe('7')
        const position = async (): Promise<string> => (await admin.fetchOffsets({ groupId, topics: [input] }))[0]?.partitions[0]?.offset ?? '-1'
        expect(await pollUntil(position, (offset) => offset === '7', 30_000)).toBe('7')
      } finally {
        await admin.disconnect()
      }
      expect(await pollUntil(lagOf, (lag) => lag[0] === 0, 5_000)).toEqual([0])
      expect(await series(metrics, 'churn_records_consumed_total')).toEqual([{ labels: { role: 'test', topic: input }, value: 2 }])
    } finally {
      await producer.disconnect()
      await pipeline.close()
    }
    // A closed pipeline no longer reports its group.
    expect(await series(metrics, 'churn_consumer_lag_records', { group: groupId })).toEqual([])
  })
})
