/**
 * Drift role throughput (feature vectors, scores and cancellations through event-time windows compared with the
 * champion's reference; reports, requests, a state snapshot and the offsets in one transaction per batch) against a
 * bare KafkaJS consumer reading the same three topics in the same run.
 * Run: npm run bench:drift (needs the local stack; BENCH_VECTORS, BENCH_EVENTS, BENCH_HOURS, BENCH_ROUNDS,
 * BENCH_MAX_BYTES_PER_PARTITION).
 */
import { randomUUID } from 'node:crypto'
import type { Message } from 'kafkajs'
import { Registry } from 'prom-client'
import { startDrift, type DriftRoleOptionsInput } from '../consumers/drift/index.js'
import { createRoleContext } from '../consumers/runtime/context.js'
import { config } from '../core/config.js'
import { createIdempotentProducer } from '../core/kafka.js'
import { Lifecycle } from '../core/lifecycle.js'
import { createLogger } from '../core/logger.js'
import { churnFeatures } from '../feature-store/declarations.js'
import { FeatureSet } from '../feature-store/feature-set.js'
import { loadSchema } from '../schemas/avro.js'
import { TopicCatalog } from '../schemas/catalog.js'
import { AvroCodec } from '../schemas/codec.js'
import { CustomerEventCodec } from '../schemas/customer-event-codec.js'
import type { CustomerEvent } from '../schemas/events.js'
import { applyTopics } from '../schemas/topic-admin.js'
import { rocAuc } from '../trainer/evaluation/index.js'
import { sigmoid, trainGbdt } from '../trainer/gbdt/index.js'
import { gbdtToOnnx, referenceDistributions } from '../trainer/onnx/index.js'
import { FeatureSampler, randomStream } from './support/feature-vectors.js'
import { publishChampion } from './support/models.js'
import { formatRate, median, verdict } from './support/stats.js'

const vectorCount = Number(process.env['BENCH_VECTORS'] ?? 100_000)
const eventCount = Number(process.env['BENCH_EVENTS'] ?? 20_000)
const hours = Number(process.env['BENCH_HOURS'] ?? 48)
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3)
const maxBytesPerPartition = process.env['BENCH_MAX_BYTES_PER_PARTITION'] === undefined ? undefined : Number(process.env['BENCH_MAX_BYTES_PER_PARTITION'])

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T0 = Date.UTC(2025, 0, 6)
/** From here on charges rise and usage falls by 30 %: windows the reference should flag. */
const driftFrom = T0 + Math.floor(hours * 0.6) * HOUR
/** Mostly one score per customer, so that a cancellation labels the score it follows. */
const customers = 4 * vectorCount
const labelHorizonMs = 6 * HOUR
/** A round fails when the role commits nothing for this long. */
const stallMs = 60_000

const featureSet = new FeatureSet(churnFeatures)
const names = featureSet.names
const sampler = new FeatureSampler(churnFeatures)
const cols = sampler.width

/** Log-odds of cancelling within the horizon: what the champion learns and the workload's cancellations follow. */
const weights: [string, number][] = [
  ['is_month_to_month', 1.2], ['pays_by_electronic_check', 0.6], ['tenure_days', -1 / 800], ['failed_payments_90d', 0.5],
  ['days_since_usage', 0.05], ['monthly_charge', 0.012], ['sessions_30d', -0.02], ['open_tickets', 0.4],
]
const terms = weights.flatMap(([name, weight]) => (names.includes(name) ? [[names.indexOf(name), weight] as const] : []))
/** About 12 % of the customers scored cancel within the horizon. */
const truth = (values: Float32Array, offset: number): number => terms.reduce((margin, [f, weight]) => margin + weight * (values[offset + f] ?? 0), -2.6)

// The champion: a GBDT trained on rows of the stationary distribution, with their reference distributions in its metadata.
function rows(count: number, seed: number): { x: { rows: number; cols: number; values: Float32Array }; y: Uint8Array } {
  const next = randomStream(seed)
  const values = new Float32Array(count * cols)
  const y = new Uint8Array(count)
  for (let r = 0; r < count; r++) {
    sampler.draw(next, 0, values, r * cols)
    y[r] = next() < sigmoid(truth(values, r * cols)) ? 1 : 0
  }
  return { x: { rows: count, cols, values }, y }
}
const train = rows(20_000, 1)
const holdout = rows(5_000, 2)
const { model } = trainGbdt(train, { numTrees: 60, numLeaves: 15, learningRate: 0.1, seed: 1, threads: 1 })
const holdoutAuc = rocAuc(holdout.y, model.predictProbability(holdout.x))
const artifact = gbdtToOnnx(model, { featureNames: names, featureSetVersion: featureSet.version, metrics: { roc_auc: holdoutAuc }, referenceDistributions: referenceDistributions(train.x, names) })

// The workload: vectors and their champion scores in event-time order over `hours`, events of some of those customers.
const next = randomStream(3)
const matrix = new Float32Array(vectorCount * cols)
const times = new Float64Array(vectorCount)
const ids: string[] = []
for (let i = 0; i < vectorCount; i++) {
  const at = T0 + Math.floor(((i + next()) * hours * HOUR) / vectorCount)
  times[i] = at
  sampler.draw(next, at >= driftFrom ? 0.3 : 0, matrix, i * cols)
  ids.push(`cust-${Math.floor(next() * customers)}`)
}
const probabilities = model.predictProbability({ rows: vectorCount, cols, values: matrix })
const events: CustomerEvent[] = []
// Customers cancel as the true hazard says, within the label horizon of their score; usage events of others fill up the rest.
for (let i = 0; i < vectorCount; i++) {
  if (next() >= sigmoid(truth(matrix, i * cols))) continue
  events.push({ event_id: randomUUID(), customer_id: ids[i] ?? '', event_time: (times[i] ?? 0) + 1 + Math.floor(next() * labelHorizonMs), type: 'cancellation', payload: { reason: 'price', voluntary: true } })
}
while (events.length < eventCount) {
  const i = Math.floor(next() * vectorCount)
  events.push({ event_id: randomUUID(), customer_id: ids[i] ?? '', event_time: (times[i] ?? 0) + Math.floor(next() * HOUR), type: 'usage', payload: { sessions: 2, minutes: 35, data_mb: 420 } })
}
events.sort((a, b) => a.event_time - b.event_time)
const total = 2 * vectorCount + events.length

const settings = config()
const logger = createLogger({ level: 'warn' })
const lifecycle = new Lifecycle({ logger })
const catalog = new TopicCatalog({ prefix: `bench-drift-${Date.now()}.`, partitions: 6 })
const context = createRoleContext({ config: settings, logger, metrics: new Registry(), lifecycle, instanceId: `bench-${process.pid}`, catalog })
const inputs = [catalog.customerFeatures.name, catalog.scores.name, catalog.customerEvents.name]

/** Registers and promotes the champion, then produces the workload on the three inputs. */
async function publish(): Promise<string> {
  const champion = await publishChampion(context, { artifact, modelType: 'gbdt', featureSetVersion: featureSet.version, metrics: { roc_auc: holdoutAuc } })
  const vectorCodec = new AvroCodec(context.registry, loadSchema('featureVector'), `${catalog.customerFeatures.name}-value`)
  const scoreCodec = new AvroCodec(context.registry, loadSchema('churnScore'), `${catalog.scores.name}-value`)
  const eventCodec = new CustomerEventCodec(context.registry, catalog.customerEvents)
  await Promise.all([vectorCodec.schemaId(), scoreCodec.schemaId(), eventCodec.schemaId()])
  const band = (p: number): string => (p < 0.3 ? 'low' : p < 0.5 ? 'medium' : p < 0.7 ? 'high' : 'critical')
  const producer = createIdempotentProducer(context.kafka)
  await producer.connect()
  try {
    const send = async <T>(topic: string, items: readonly T[], message: (item: T, i: number) => Message): Promise<void> => {
      for (let i = 0; i < items.length; i += 1_000) {
        await producer.send({ topic, acks: -1, messages: items.slice(i, i + 1_000).map((item, k) => message(item, i + k)) })
      }
    }
    await send(catalog.customerFeatures.name, ids, (customer, i) => ({
      key: customer,
      value: vectorCodec.encode({
        customer_id: customer, feature_set_version: featureSet.version, values: Array.from(matrix.subarray(i * cols, (i + 1) * cols)),
        newest_event_time: times[i] ?? 0, computed_at: times[i] ?? 0, source_partition: 0, source_offset: i,
      }),
    }))
    await send(catalog.scores.name, ids, (customer, i) => ({
      key: customer,
      value: scoreCodec.encode({
        customer_id: customer, probability: probabilities[i] ?? 0, risk_band: band(probabilities[i] ?? 0), model_version: champion, feature_set_version: featureSet.version,
        feature_age_ms: 40, top_reasons: [0, 1, 2].map((k) => ({ feature: names[k] ?? '', contribution: 0.1 * (3 - k), value: matrix[i * cols + k] ?? null })),
        fallback_level: 'champion', source_event_time: times[i] ?? 0, scored_at: (times[i] ?? 0) + 40,
      }),
    }))
    await send(catalog.customerEvents.name, events, (event) => ({ key: event.customer_id, value: eventCodec.encode(event) }))
  } finally {
    await producer.disconnect()
  }
  return champion
}

async function bare(round: number): Promise<number> {
  const consumer = context.kafka.consumer({ groupId: `${catalog.prefix}bare-${round}`, ...(maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition }) })
  // Both sides include connecting and joining the group.
  const started = performance.now()
  await consumer.connect()
  await consumer.subscribe({ topics: inputs, fromBeginning: true })
  let seen = 0
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: ({ batch }) => {
        seen += batch.messages.length
        if (seen >= total) resolve()
        return Promise.resolve()
      },
    })
  })
  const elapsed = performance.now() - started
  await consumer.disconnect()
  return total / (elapsed / 1000)
}

/** Sum of a metric's series whose labels match. */
async function metric(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await metrics.getSingleMetric(name)?.get())?.values ?? []
  return values
    .filter((value) => Object.entries(labels).every(([label, wanted]) => String(value.labels[label]) === wanted))
    .reduce((sum, value) => sum + value.value, 0)
}

const options = (round: number): DriftRoleOptionsInput => ({
  groupId: `${catalog.prefix}drift-${round}`,
  sessionTimeoutMs: 10_000,
  modelCatchUpMs: 15_000,
  ...(maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition }),
  drift: { windowMs: HOUR, allowedLatenessMs: 5 * MINUTE, labelHorizonMs },
})

async function drift(round: number): Promise<number> {
  const metrics = new Registry()
  const started = performance.now()
  const role = await startDrift({ ...context, metrics }, options(round))
  const running = performance.now()
  let openWindows = 0
  let snapshotBytes = 0
  let elapsed: number
  try {
    // Done when every record's batch has committed: its windows, reports, snapshot and offsets.
    let committed = 0
    let progressAt = performance.now()
    while (committed < total) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      openWindows = Math.max(openWindows, await metric(metrics, 'churn_drift_open_windows'))
      snapshotBytes = Math.max(snapshotBytes, await metric(metrics, 'churn_drift_snapshot_bytes'))
      const now = await metric(metrics, 'churn_drift_records_total')
      if (now > committed) progressAt = performance.now()
      else if (performance.now() - progressAt > stallMs) throw new Error(`drift round ${round + 1}: no batch committed for ${stallMs / 1000} s at ${committed} of ${total} records`)
      committed = now
    }
    elapsed = performance.now() - started
  } finally {
    await role.close()
  }
  const windows = await metric(metrics, 'churn_drift_windows_closed_total')
  const driftReports = await metric(metrics, 'churn_drift_reports_total', { kind: 'drift' })
  const breached = await metric(metrics, 'churn_drift_reports_total', { kind: 'drift', breached: 'true' })
  const performanceReports = await metric(metrics, 'churn_drift_reports_total', { kind: 'performance' })
  const requests = await Promise.all(['drift', 'performance', 'schedule'].map(async (reason) => `${reason} ${await metric(metrics, 'churn_drift_retrain_requests_total', { reason })}`))
  const applied = await metric(metrics, 'churn_drift_records_total', { outcome: 'applied' })
  const batches = (await metrics.getSingleMetric('churn_drift_batch_duration_seconds')?.get())?.values ?? []
  // Histogram values carry the series name (…_sum, …_count) at run time, though prom-client's types omit it.
  const series = (name: string): number => batches.find((v) => (v as { metricName?: string }).metricName === name)?.value ?? 0
  const processing = series('churn_drift_batch_duration_seconds_sum')
  console.log(`  drift round ${round + 1}: ${windows} windows closed, ${driftReports} drift reports (${breached} breached), ${performanceReports} performance reports, retrain requests ${requests.join(', ')}; ${applied.toLocaleString('en-US')} records applied`)
  console.log(`    started in ${(running - started).toFixed(0)} ms; ${series('churn_drift_batch_duration_seconds_count')} batches (transactions), ${(processing * 1000).toFixed(0)} ms processing them of ${elapsed.toFixed(0)} ms; up to ${openWindows} open windows, snapshots up to ${(snapshotBytes / 1024).toFixed(0)} KiB`)
  if (driftReports === 0) throw new Error(`drift round ${round + 1} produced no drift report: the role did not do the work measured`)
  return total / (elapsed / 1000)
}

const admin = context.kafka.admin()
await admin.connect()
try {
  await applyTopics(admin, catalog.topics)
  const champion = await publish()
  const cancellations = events.filter((event) => event.type === 'cancellation').length
  console.log(`${vectorCount.toLocaleString('en-US')} vectors (${cols} features) and their champion scores, ${events.length.toLocaleString('en-US')} customer events (${cancellations.toLocaleString('en-US')} cancellations) over ${hours} h of event time, ${catalog.customerEvents.partitions} partitions per topic; champion ${champion}, holdout AUC ${holdoutAuc.toFixed(3)}`)
  const bareRates: number[] = []
  const driftRates: number[] = []
  for (let round = 0; round < rounds; round += 1) {
    bareRates.push(await bare(round))
    driftRates.push(await drift(round))
    console.log(`round ${round + 1}: bare consumer ${formatRate(bareRates.at(-1) ?? 0)}  drift ${formatRate(driftRates.at(-1) ?? 0)}`)
  }
  const bareMedian = median(bareRates)
  const driftMedian = median(driftRates)
  console.log(`\ndrift (decode, windows, evaluation, reports, snapshot, one transaction per batch, until committed), records of all three inputs, medians of ${rounds} rounds:`)
  console.log(`  bare KafkaJS consumer: ${formatRate(bareMedian)}`)
  console.log(`  drift role:            ${formatRate(driftMedian)}`)
  console.log(verdict('  drift / bare', driftMedian / bareMedian, 0.5))
} finally {
  await admin.deleteTopics({ topics: catalog.topics.map((topic) => topic.name) })
  await admin.disconnect()
  await lifecycle.shutdown()
}
// A one-shot process: end it even if a client left a timer or socket behind.
process.exit(0)
