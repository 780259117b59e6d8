import { randomUUID } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import type { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { roleNames } from '../../cli/roles.js'
import { runRoles } from '../../cli/run-command.js'
import { config, type Config } from '../../core/config.js'
import { createIdempotentProducer } from '../../core/kafka.js'
import { startMetricsServer } from '../../core/metrics.js'
import { createRedis } from '../../core/redis.js'
import { panelQueries, type PanelQuery } from '../../dashboards/src/index.js'
import { runSimulation } from '../../producers/simulation-runner.js'
import { createSimulator, dayMs } from '../../producers/simulator/index.js'
import { EventPublisher } from '../../producers/publisher/index.js'
import { PublisherSink } from '../../producers/sinks.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { registerSchemas } from '../../schemas/registration.js'
import { GatewayClient, isServiceError, type Gateway } from '../../scoring/gateway/index.js'
import { stackSettings } from '../../stack/settings.js'
import { pollUntil, tempDir, testCatalog, testKafka, testRegistry, uniqueName } from '../support/factories.js'

/**
 * Every panel of every generated dashboard, against the real Prometheus: all roles run in this process on
 * topics of their own, scraped under a `job` of their own, and each panel's query, scoped to that job,
 * must return data once the platform has done what the panels show (a promotion, drift, dead letters,
 * gateway calls).
 */

const base = config()
const job = uniqueName('t-dashboards')
const kafka = testKafka()
const catalog = await testCatalog(kafka, 2)
const logFile = join(base.STACK_DIR, 'logs', `${job}.log`)
mkdirSync(join(base.STACK_DIR, 'logs'), { recursive: true })

const settings: Config = {
  ...base,
  TOPIC_PREFIX: catalog.prefix,
  TOPIC_PARTITIONS: 2,
  ONLINE_KEY_PREFIX: `${job}:`,
  CLICKHOUSE_PATH: tempDir('chdb-dashboards'),
  METRICS_PORT: 0,
  GATEWAY_PORT: 0,
  KAFKA_SESSION_TIMEOUT_MS: 10_000,
  TRAINER_COOLDOWN_MS: 2_000,
  TRAINER_SAMPLE_EVERY_DAYS: 7,
  // The panels need a champion, not a good one.
  TRAINER_GATE_MIN_ROC_AUC: 0,
  // Week-long windows that close as the live part moves event time, each one breaching and asking for a retrain.
  DRIFT_WINDOW_MS: 7 * dayMs,
  DRIFT_ALLOWED_LATENESS_MS: dayMs,
  DRIFT_CONSECUTIVE_WINDOWS: 1,
  DRIFT_COOLDOWN_MS: 0,
  DRIFT_PSI_THRESHOLD: 1e-9,
  SHUTDOWN_TIMEOUT_MS: 60_000,
}

await registerSchemas(testRegistry(), base.SCHEMA_REGISTRY_URL, catalog.topics)
const running = await runRoles({ roles: roleNames(), settings, instanceId: job, logDestination: pino.destination({ dest: logFile, mkdir: true, sync: false }), handleSignals: false })
// A /metrics of this process's registry that Prometheus finds through a target file, labelled with the test's job.
const server = await startMetricsServer(running.metrics, { port: 0 })
const targetFile = join(stackSettings(base).prometheus.targetsDir, `${job}.json`)
writeFileSync(targetFile, JSON.stringify([{ targets: [`127.0.0.1:${server.port}`], labels: { job } }]))
const gateway = running.running.find((role) => role.name === 'gateway') as Gateway | undefined
if (gateway === undefined) throw new Error('the gateway role did not start')
const client = new GatewayClient({ address: gateway.address })
const publisher = new PublisherSink(new EventPublisher({ kafka: running.context.kafka, registry: running.context.registry, topic: catalog.customerEvents, logger: running.context.logger }))

afterAll(async () => {
  rmSync(targetFile, { force: true })
  client.close()
  await publisher.close()
  await server.close()
  await running.lifecycle.shutdown()
  // The roles' own Redis connection closed with them.
  const redis = createRedis(settings.REDIS_URL)
  await redis.connect()
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${settings.ONLINE_KEY_PREFIX}*`, 'COUNT', 1000)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}, 120_000)

/** The sum of a metric's series in this process whose labels include `labels` (a histogram: its counts). */
async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? []
  return values
    .filter((entry) => !('metricName' in entry) || entry.metricName === undefined || entry.metricName === `${name}_count`)
    .filter((entry) => Object.entries(labels).every(([label, value]) => entry.labels[label] === value))
    .reduce((sum, entry) => sum + entry.value, 0)
}

async function waitForMetric(what: string, name: string, labels: Record<string, string>, atLeast: number, timeoutMs: number): Promise<void> {
  const value = await pollUntil(() => metric(running.metrics, name, labels), (v) => v >= atLeast, timeoutMs, 500)
  if (value < atLeast) throw new Error(`${what}: ${name}${JSON.stringify(labels)} is ${value} after ${timeoutMs / 1000} s, expected at least ${atLeast}; role logs: ${logFile}`)
}

async function requestRetrain(eventTime: number): Promise<void> {
  const codec = new AvroCodec(running.context.registry, loadSchema('retrainRequest'), `${catalog.retrainRequests.name}-value`)
  await codec.schemaId()
  const producer = createIdempotentProducer(kafka)
  await producer.connect()
  try {
    await producer.send({
      topic: catalog.retrainRequests.name,
      acks: -1,
      messages: [{ key: 'churn', value: codec.encode({ request_id: `${job}-${randomUUID()}`, requested_at: Date.now(), reason: 'manual', model_version: null, evidence: [], event_time: eventTime }) }],
    })
  } finally {
    await producer.disconnect()
  }
}

async function publishGarbage(): Promise<void> {
  const producer = createIdempotentProducer(kafka)
  await producer.connect()
  try {
    await producer.send({ topic: catalog.customerEvents.name, acks: -1, messages: [{ key: 'c-garbage', value: Buffer.from('not avro') }] })
  } finally {
    await producer.disconnect()
  }
}

interface QueryResponse {
  status: string
  error?: string
  data?: { result: unknown[] }
}

async function prometheus<T>(path: string): Promise<T> {
  const response = await fetch(`${base.PROMETHEUS_URL}${path}`, { signal: AbortSignal.timeout(10_000) })
  return (await response.json()) as T
}

async function instantQuery(expr: string): Promise<QueryResponse> {
  return prometheus<QueryResponse>(`/api/v1/query?query=${encodeURIComponent(expr)}`)
}

/** A panel's query as Grafana would send it for this test's job: variables replaced. */
function scoped(query: PanelQuery): string {
  return query.expr.replaceAll('$job', job).replaceAll('$__rate_interval', '1m')
}

/** Raw metric names of a query and of the recording rules it reads. */
function metricsBehind(expr: string, rules: Map<string, string>): string[] {
  const names = new Set<string>()
  const raw = /(?<![\w:])churn_[a-z0-9_]+(?![\w:])/gu
  for (const match of expr.matchAll(raw)) names.add(match[0])
  for (const match of expr.matchAll(/\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b/gu)) {
    for (const inner of (rules.get(match[0]) ?? '').matchAll(raw)) names.add(inner[0])
  }
  return [...names].sort()
}

describe('dashboards against live metrics', () => {
  it('has data for every panel query once the platform has run', async () => {
    const loaded = await prometheus<{ data: { groups: { rules: { name: string; query: string; type: string }[] }[] } }>('/api/v1/rules')
    const rules = new Map(loaded.data.groups.flatMap((group) => group.rules).filter((rule) => rule.type === 'recording').map((rule) => [rule.name, rule.query]))
    const queries = panelQueries()
    const missingRules = [...new Set(queries.flatMap((q) => [...q.expr.matchAll(/\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b/gu)].map((m) => m[0])))].filter((name) => !rules.has(name))
    expect(missingRules, `Prometheus at ${base.PROMETHEUS_URL} has not loaded stack/prometheus/rules: run \`node bin/churn.js stack up\` to reload it`).toEqual([])

    // History for the first model: 300 customers over 150 days, published as fast as ingest takes it.
    const end = Math.floor(Date.now() / dayMs) * dayMs
    const liveDays = 28
    const liveStart = end - liveDays * dayMs
    const start = liveStart - 150 * dayMs
    const simulator = createSimulator({ seed: 11, customers: 300, start, drift: { at: liveStart + 7 * dayMs, kind: 'usage_drop' } })
    const first = simulator.advanceTo(start)
    const customerId = first[0]?.customer_id ?? 'c-none'
    await publisher.write(first)
    const history = first.length + (await runSimulation(simulator, publisher, start, liveStart, { durationMs: Number.POSITIVE_INFINITY, daysPerSecond: 0, maxEventsPerSecond: 50_000 })).events
    await waitForMetric('offline store holds the history', 'churn_offline_sink_records_inserted_total', { topic: catalog.customerEvents.name }, history, 120_000)

    await requestRetrain(liveStart)
    await waitForMetric('the first training run ends', 'churn_trainer_runs_total', {}, 1, 120_000)
    expect(await metric(running.metrics, 'churn_trainer_runs_total', { outcome: 'promoted' }), `the first run was not promoted; role logs: ${logFile}`).toBe(1)
    await waitForMetric('the scorer serves the champion', 'churn_model_info', { slot: 'champion' }, 1, 30_000)

    // Live: a month of event time in about 20 s, so week-long drift windows close; a dead letter and gateway calls meanwhile.
    await publishGarbage()
    const calls = (async () => {
      for (let i = 0; i < 10; i++) {
        await client.scoreCustomer({ customer_id: customerId }).catch((error: unknown) => {
          if (!isServiceError(error)) throw error
        })
        // An unknown customer: NOT_FOUND, so the panels of failed calls have data too.
        await client.scoreCustomer({ customer_id: `${job}-nobody` }).catch((error: unknown) => {
          if (!isServiceError(error)) throw error
        })
        await new Promise((resolve) => setTimeout(resolve, 1_000))
      }
    })()
    await runSimulation(simulator, publisher, liveStart, end, { durationMs: 20_000, daysPerSecond: liveDays / 20, maxEventsPerSecond: 5_000 })
    await calls
    await waitForMetric('a drift report breaches', 'churn_drift_reports_total', { breached: 'true' }, 1, 60_000)
    await waitForMetric('drift asks for a retrain', 'churn_drift_retrain_requests_total', {}, 1, 30_000)
    await waitForMetric('ingest dead-letters the garbage', 'churn_ingest_events_total', { outcome: 'dead_lettered' }, 1, 30_000)

    // Scrapes every 2 s and rules every 2 s: a minute is ample for the 1 m rates to have two samples.
    const scopedQueries = queries.map((q) => ({ ...q, promql: scoped(q) }))
    const empty = async (): Promise<(typeof scopedQueries)[number][]> => {
      const outcomes = await Promise.all(scopedQueries.map(async (q) => ({ q, response: await instantQuery(q.promql) })))
      const errors = outcomes.filter((o) => o.response.status !== 'success')
      if (errors.length > 0) throw new Error(`queries Prometheus rejected:\n${errors.map((o) => `${o.q.dashboard} / ${o.q.panel} ${o.q.refId}: ${o.response.error ?? '?'}\n  ${o.q.promql}`).join('\n')}`)
      return outcomes.filter((o) => (o.response.data?.result.length ?? 0) === 0).map((o) => o.q)
    }
    const polling = performance.now()
    const stillEmpty = await pollUntil(empty, (list) => list.length === 0, 60_000, 2_000)
    if (stillEmpty.length > 0) {
      const absent: string[] = []
      for (const name of new Set(stillEmpty.flatMap((q) => metricsBehind(q.expr, rules)))) {
        const found = await instantQuery(`count({__name__="${name}", job="${job}"})`)
        if ((found.data?.result.length ?? 0) === 0) absent.push(name)
      }
      const lines = stillEmpty.map((q) => `${q.dashboard} / ${q.panel} ${q.refId}: ${q.promql}`)
      expect.fail(`${stillEmpty.length} of ${queries.length} panel queries returned no data for job ${job}:\n${lines.join('\n')}\nmetrics with no series for this job: ${absent.join(', ') || 'none'}\nrole logs: ${logFile}`)
    }
    expect(queries.length).toBeGreaterThan(30)
    console.log(`dashboards live: ${queries.length} panel queries of job ${job}, all with data ${((performance.now() - polling) / 1000).toFixed(1)} s after the platform's run (${history} history events)`)
  }, 420_000)
})
