/**
 * SDK publish throughput against a bare KafkaJS producer sending the same records, pre-encoded,
 * in the same run, against the local stack. Both use the same producer settings (idempotent,
 * acks=all, one request in flight), so the ratio is the SDK's own cost: validation, Avro encoding,
 * batching and promise bookkeeping. Run: npm run bench:publisher
 */
import { config } from '../core/config.js'
import { createIdempotentProducer, createKafka } from '../core/kafka.js'
import { createLogger } from '../core/logger.js'
import { createSchemaRegistry } from '../core/schema-registry.js'
import { EventPublisher } from '../producers/publisher/index.js'
import { TopicCatalog } from '../schemas/catalog.js'
import { CustomerEventCodec } from '../schemas/customer-event-codec.js'
import type { CustomerEvent } from '../schemas/events.js'
import { applyTopics } from '../schemas/topic-admin.js'
import { formatRate, median, verdict } from './support/stats.js'

const events = Number(process.env['BENCH_EVENTS'] ?? 100_000)
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3)
const chunk = 1_000

const settings = config()
const logger = createLogger({ level: 'warn' })
const kafka = createKafka({ brokers: settings.KAFKA_BROKERS, clientId: 'bench-publisher', logger })
const registry = createSchemaRegistry(settings.SCHEMA_REGISTRY_URL)
const catalog = new TopicCatalog({ prefix: `bench-${Date.now()}.`, partitions: 6 })
const admin = kafka.admin()
await admin.connect()
await applyTopics(admin, [catalog.customerEvents])

const start = Date.now() - 86_400_000
const workload: CustomerEvent[] = Array.from({ length: events }, (_, i) => ({
  event_id: crypto.randomUUID(),
  customer_id: `c-${i % 10_000}`,
  event_time: start + i,
  type: 'usage',
  payload: { sessions: i % 9, minutes: (i % 9) * 11.5, data_mb: (i % 13) * 20.25 },
}))

async function bare(): Promise<number> {
  const codec = new CustomerEventCodec(registry, catalog.customerEvents)
  await codec.schemaId()
  const messages = workload.map((event) => ({ key: event.customer_id, value: codec.encode(event), headers: { 'churn.event_type': event.type }, timestamp: String(event.event_time) }))
  const producer = createIdempotentProducer(kafka)
  await producer.connect()
  const started = performance.now()
  for (let i = 0; i < messages.length; i += chunk) {
    await producer.send({ topic: catalog.customerEvents.name, acks: -1, messages: messages.slice(i, i + chunk) })
  }
  const elapsed = performance.now() - started
  await producer.disconnect()
  return events / (elapsed / 1000)
}

async function sdk(): Promise<number> {
  const publisher = new EventPublisher({ kafka, registry, topic: catalog.customerEvents, logger }, { maxBatchSize: chunk })
  await publisher.publish(workload[0])
  const started = performance.now()
  // Callers publish one event at a time and let the SDK batch them; they wait in windows so memory stays bounded.
  for (let i = 0; i < workload.length; i += 10 * chunk) {
    await Promise.all(workload.slice(i, i + 10 * chunk).map((event) => publisher.publish(event)))
  }
  const elapsed = performance.now() - started
  await publisher.close()
  return events / (elapsed / 1000)
}

const bareRates: number[] = []
const sdkRates: number[] = []
for (let round = 0; round < rounds; round += 1) {
  bareRates.push(await bare())
  sdkRates.push(await sdk())
  console.log(`round ${round + 1}: bare ${formatRate(bareRates.at(-1) ?? 0)}  sdk ${formatRate(sdkRates.at(-1) ?? 0)}`)
}
const bareMedian = median(bareRates)
const sdkMedian = median(sdkRates)
console.log(`\npublish ${events.toLocaleString('en-US')} events x ${rounds} rounds (medians)`)
console.log(`  bare KafkaJS producer, pre-encoded: ${formatRate(bareMedian)}`)
console.log(`  SDK publish():                      ${formatRate(sdkMedian)}`)
console.log(verdict('  SDK / bare', sdkMedian / bareMedian, 0.7))

await admin.deleteTopics({ topics: [catalog.customerEvents.name] })
await admin.disconnect()
