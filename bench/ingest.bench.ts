/**
 * Ingest throughput (events into Redis + changelog, exactly once) against a bare KafkaJS consumer
 * reading the same topic in the same run; then the online read latency of one full vector against a
 * Redis PING in the same run. Run: npm run bench:ingest (needs the local stack).
 */
import { Lifecycle } from '../core/lifecycle.js'
import { config } from '../core/config.js'
import { createIdempotentProducer } from '../core/kafka.js'
import { createLogger } from '../core/logger.js'
import { createRoleContext } from '../consumers/runtime/context.js'
import { startIngest } from '../consumers/ingest/index.js'
import { churnFeatures } from '../feature-store/declarations.js'
import { FeatureSet } from '../feature-store/feature-set.js'
import { OnlineStore } from '../feature-store/online/online-store.js'
import { createSimulator, dayMs } from '../producers/simulator/index.js'
import { TopicCatalog } from '../schemas/catalog.js'
import { CustomerEventCodec } from '../schemas/customer-event-codec.js'
import { applyTopics } from '../schemas/topic-admin.js'
import { Registry } from 'prom-client'
import { formatRate, median, percentile, verdict } from './support/stats.js'

const events = Number(process.env['BENCH_EVENTS'] ?? 100_000)
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3)
const reads = Number(process.env['BENCH_READS'] ?? 20_000)

const settings = config()
const logger = createLogger({ level: 'warn' })
const lifecycle = new Lifecycle({ logger })
const catalog = new TopicCatalog({ prefix: `bench-ingest-${Date.now()}.`, partitions: 6 })
const context = createRoleContext({ config: settings, logger, metrics: new Registry(), lifecycle, instanceId: `bench-${process.pid}`, catalog })
const admin = context.kafka.admin()
await admin.connect()
await applyTopics(admin, catalog.topics)

// A realistic stream: the simulator's events for customers over enough days to reach the count.
const simulator = createSimulator({ seed: 1, customers: 20_000, start: Date.now() - 400 * dayMs })
const workload = simulator.advanceTo(simulator.options.start + 365 * dayMs).slice(-events)
const codec = new CustomerEventCodec(context.registry, catalog.customerEvents)
await codec.schemaId()
const producer = createIdempotentProducer(context.kafka)
await producer.connect()
for (let i = 0; i < workload.length; i += 1_000) {
  await producer.send({ topic: catalog.customerEvents.name, acks: -1, messages: workload.slice(i, i + 1_000).map((event) => ({ key: event.customer_id, value: codec.encode(event) })) })
}
await producer.disconnect()
console.log(`${workload.length.toLocaleString('en-US')} events for ${new Set(workload.map((e) => e.customer_id)).size.toLocaleString('en-US')} customers on ${catalog.customerEvents.partitions} partitions`)

async function bare(round: number): Promise<number> {
  const consumer = context.kafka.consumer({ groupId: `${catalog.prefix}bare-${round}` })
  await consumer.connect()
  await consumer.subscribe({ topic: catalog.customerEvents.name, fromBeginning: true })
  let seen = 0
  const started = performance.now()
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: ({ batch }) => {
        seen += batch.messages.length
        if (seen >= workload.length) resolve()
        return Promise.resolve()
      },
    })
  })
  const elapsed = performance.now() - started
  await consumer.disconnect()
  return workload.length / (elapsed / 1000)
}

async function ingest(round: number): Promise<number> {
  const metrics = new Registry()
  const roundContext = { ...context, metrics }
  const started = performance.now()
  const role = await startIngest(roundContext, new FeatureSet(churnFeatures), { groupId: `${catalog.prefix}ingest-${round}`, keyPrefix: `${catalog.prefix}${round}:` })
  // Done when every event's transaction has committed: its state is in Redis, its vector in the changelog.
  for (;;) {
    const values = (await metrics.getSingleMetric('churn_ingest_committed_records_total')?.get())?.values ?? []
    if (values.reduce((sum, v) => sum + v.value, 0) >= workload.length) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const elapsed = performance.now() - started
  await role.close()
  const batches = (await metrics.getSingleMetric('churn_ingest_batch_duration_seconds')?.get())?.values ?? []
  // Histogram values carry the series name (…_sum, …_count) at run time, though prom-client's types omit it.
  const series = (name: string): number => batches.find((v) => (v as { metricName?: string }).metricName === name)?.value ?? 0
  const sum = series('churn_ingest_batch_duration_seconds_sum')
  const count = series('churn_ingest_batch_duration_seconds_count')
  // Partitions are transformed concurrently, so the summed transform time can exceed the elapsed time.
  console.log(`  ingest round ${round + 1}: ${count} batches, ${(sum * 1000).toFixed(0)} ms transforming (summed over batches) in ${elapsed.toFixed(0)} ms`)
  return workload.length / (elapsed / 1000)
}

const bareRates: number[] = []
const ingestRates: number[] = []
for (let round = 0; round < rounds; round += 1) {
  bareRates.push(await bare(round))
  ingestRates.push(await ingest(round))
  console.log(`round ${round + 1}: bare consumer ${formatRate(bareRates.at(-1) ?? 0)}  ingest ${formatRate(ingestRates.at(-1) ?? 0)}`)
}
const bareMedian = median(bareRates)
const ingestMedian = median(ingestRates)
console.log(`\ningest (decode, features, Redis, changelog, one transaction per partition batch, until committed), medians of ${rounds} rounds:`)
console.log(`  bare KafkaJS consumer: ${formatRate(bareMedian)}`)
console.log(`  ingest role:           ${formatRate(ingestMedian)}  (target >= 20,000/s: ${ingestMedian >= 20_000 ? 'PASS' : 'FAIL'})`)
console.log(verdict('  ingest / bare', ingestMedian / bareMedian, 0.4))

// Online reads: one customer's whole vector per call, one call at a time, against PING on the same connection.
const redis = await context.redis()
const store = new OnlineStore(redis, { keyPrefix: `${catalog.prefix}0:` })
const customers = (await store.readVectors([...new Set(workload.map((e) => e.customer_id))])).flatMap((vector) => (vector === undefined ? [] : [vector.customerId]))
const time = async (operation: () => Promise<unknown>): Promise<number[]> => {
  const samples: number[] = []
  for (let i = 0; i < reads; i += 1) {
    const started = process.hrtime.bigint()
    await operation()
    samples.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  return samples
}
let n = 0
const readSamples = await time(async () => {
  const vector = await store.readVector(customers[n++ % customers.length] ?? '')
  if (vector === undefined) throw new Error('missing vector')
})
const pingSamples = await time(() => redis.ping())
console.log(`\nonline read of a full vector (${churnFeatures.length} features), ${reads.toLocaleString('en-US')} sequential reads:`)
console.log(`  PING        p50 ${percentile(pingSamples, 50).toFixed(3)} ms  p99 ${percentile(pingSamples, 99).toFixed(3)} ms`)
console.log(`  readVector  p50 ${percentile(readSamples, 50).toFixed(3)} ms  p99 ${percentile(readSamples, 99).toFixed(3)} ms  (target p99 < 1 ms: ${percentile(readSamples, 99) < 1 ? 'PASS' : 'FAIL'})`)

for (let round = 0; round < rounds; round += 1) {
  const keys = await redis.keys(`${catalog.prefix}${round}:*`)
  for (let i = 0; i < keys.length; i += 1_000) await redis.del(...keys.slice(i, i + 1_000))
}
await admin.deleteTopics({ topics: catalog.topics.map((topic) => topic.name) })
await admin.disconnect()
await lifecycle.shutdown()
