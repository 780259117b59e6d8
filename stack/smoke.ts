import { randomUUID } from 'node:crypto'
import { SchemaType } from '@kafkajs/confluent-schema-registry'
import type { Config } from '../core/config.js'
import { createOfflineClient } from '../core/clickhouse.js'
import { errorMessage } from '../core/errors.js'
import { createIdempotentProducer, createKafka } from '../core/kafka.js'
import { createLogger } from '../core/logger.js'
import { createRedis } from '../core/redis.js'
import { createSchemaRegistry } from '../core/schema-registry.js'

export interface SmokeResult {
  service: string
  ok: boolean
  elapsedMs: number
  detail: string
}

async function timed(service: string, check: () => Promise<string>): Promise<SmokeResult> {
  const started = Date.now()
  try {
    const detail = await check()
    return { service, ok: true, elapsedMs: Date.now() - started, detail }
  } catch (error) {
    return { service, ok: false, elapsedMs: Date.now() - started, detail: errorMessage(error) }
  }
}

/** One real round trip through every service of the stack. */
export async function smokeStack(config: Config): Promise<SmokeResult[]> {
  const id = randomUUID().slice(0, 8)
  const logger = createLogger({ level: 'warn' })
  const results: SmokeResult[] = []

  results.push(await timed('kafka', async () => {
    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'churn-smoke', logger })
    const admin = kafka.admin()
    const producer = createIdempotentProducer(kafka)
    const consumer = kafka.consumer({ groupId: `churn-smoke-${id}` })
    const topic = `churn.smoke.${id}`
    await admin.connect()
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
      await producer.connect()
      await producer.send({ topic, acks: -1, messages: [{ key: id, value: 'hello' }] })
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      const value = await new Promise<string>((resolvePromise, reject) => {
        const timer = setTimeout(() => { reject(new Error('no record consumed within 20 s')) }, 20_000)
        void consumer.run({
          eachMessage: ({ message }) => {
            clearTimeout(timer)
            resolvePromise(message.value?.toString() ?? '')
            return Promise.resolve()
          },
        })
      })
      return `produced and consumed "${value}" on ${topic}`
    } finally {
      await consumer.disconnect().catch(() => undefined)
      await producer.disconnect().catch(() => undefined)
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
      await admin.disconnect()
    }
  }))

  results.push(await timed('schema-registry', async () => {
    const registry = createSchemaRegistry(config.SCHEMA_REGISTRY_URL)
    const schema = JSON.stringify({ type: 'record', name: 'Smoke', namespace: 'churn.smoke', fields: [{ name: 'id', type: 'string' }] })
    const { id: schemaId } = await registry.register({ type: SchemaType.AVRO, schema }, { subject: `churn.smoke.${id}-value` })
    const decoded = (await registry.decode(await registry.encode(schemaId, { id }))) as { id: string }
    if (decoded.id !== id) throw new Error(`decoded ${decoded.id}, expected ${id}`)
    return `registered schema id ${schemaId}, Avro round trip ok`
  }))

  results.push(await timed('redis', async () => {
    const redis = createRedis(config.REDIS_URL)
    try {
      await redis.connect()
      await redis.set(`churn:smoke:${id}`, 'ok', 'EX', 60)
      return `SET/GET ${await redis.get(`churn:smoke:${id}`) ?? 'nothing'}`
    } finally {
      redis.disconnect()
    }
  }))

  results.push(await timed('clickhouse', async () => {
    const client = createOfflineClient({ url: config.CLICKHOUSE_URL, path: config.CLICKHOUSE_PATH })
    try {
      const rows = await (await client.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' })).json<{ version: string }>()
      const where = config.CLICKHOUSE_URL ?? `embedded engine at ${config.CLICKHOUSE_PATH}`
      return `${where}, version ${rows[0]?.version ?? '?'}`
    } finally {
      await client.close()
    }
  }))

  results.push(await timed('prometheus', async () => {
    const response = await fetch(`${config.PROMETHEUS_URL}/api/v1/query?query=up`, { signal: AbortSignal.timeout(5_000) })
    const body = (await response.json()) as { status: string; data: { result: unknown[] } }
    if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`)
    return `${body.data.result.length} scrape targets`
  }))

  return results
}
