import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { Registry } from 'prom-client'
import { config, type Config } from '../../core/config.js'
import { Lifecycle } from '../../core/lifecycle.js'
import { createRoleContext, type RoleContext } from '../../consumers/runtime/context.js'
import { createKafka, type Kafka } from '../../core/kafka.js'
import { createLogger } from '../../core/logger.js'
import { createSchemaRegistry, type SchemaRegistry } from '../../core/schema-registry.js'
import { loadSchema } from '../../schemas/avro.js'
import { TopicCatalog } from '../../schemas/catalog.js'
import { AvroCodec } from '../../schemas/codec.js'
import { applyTopics } from '../../schemas/topic-admin.js'

export const testLogger = createLogger({ level: process.env['TEST_LOG_LEVEL'] ?? 'warn' })

/** A name no other test (or earlier run) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

export function testKafka(clientId = uniqueName('test')): Kafka {
  return createKafka({ brokers: config().KAFKA_BROKERS, clientId, logger: testLogger })
}

/** Creates topics for one test file and deletes them when the file is done. */
export async function createTestTopics(kafka: Kafka, topics: { topic: string; numPartitions?: number; configEntries?: { name: string; value: string }[] }[]): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: topics.map((t) => ({ numPartitions: 1, ...t })), waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
  afterAll(async () => {
    const cleanup = kafka.admin()
    await cleanup.connect()
    try {
      await cleanup.deleteTopics({ topics: topics.map((t) => t.topic) })
    } finally {
      await cleanup.disconnect()
    }
  })
}

/** A temporary folder removed when the test file is done. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/** Polls `read` until `done` holds or the deadline passes; returns the last value read. */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() >= deadline) return value
    await new Promise((resolvePromise) => setTimeout(resolvePromise, intervalMs))
  }
}

export interface ConsumedRecord {
  partition: number
  offset: string
  key: string | undefined
  value: Buffer | null
  headers: Record<string, string>
}

/**
 * Reads a topic from the beginning with a fresh consumer group until `until` holds for what was
 * read (or the deadline passes), then returns everything read.
 */
export async function consumeUntil(
  kafka: Kafka,
  topic: string,
  until: (records: ConsumedRecord[]) => boolean,
  options: { readUncommitted?: boolean; timeoutMs?: number } = {},
): Promise<ConsumedRecord[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: options.readUncommitted ?? false })
  const records: ConsumedRecord[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolvePromise) => {
      const timer = setTimeout(resolvePromise, options.timeoutMs ?? 20_000)
      void consumer.run({
        eachMessage: ({ partition, message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, Array.isArray(value) ? value.map(String).join(',') : String(value)]))
          records.push({ partition, offset: message.offset, key: message.key?.toString(), value: message.value, headers })
          if (until(records)) {
            clearTimeout(timer)
            resolvePromise()
          }
          return Promise.resolve()
        },
      })
    })
  } finally {
    await consumer.disconnect()
  }
  return records
}

/**
 * A topic catalog of this test file's own (unique prefix), with every topic created up front and
 * deleted when the file is done.
 */
export async function testCatalog(kafka: Kafka, partitions = 3): Promise<TopicCatalog> {
  const catalog = new TopicCatalog({ prefix: `${uniqueName('t')}.`, partitions })
  const admin = kafka.admin()
  await admin.connect()
  try {
    await applyTopics(admin, catalog.topics)
  } finally {
    await admin.disconnect()
  }
  afterAll(async () => {
    const cleanup = kafka.admin()
    await cleanup.connect()
    try {
      await cleanup.deleteTopics({ topics: catalog.topics.map((topic) => topic.name) })
    } finally {
      await cleanup.disconnect()
    }
  })
  return catalog
}

export function testRegistry(): SchemaRegistry {
  return createSchemaRegistry(config().SCHEMA_REGISTRY_URL)
}

/** The clients a role gets in production, over this file's topics, shut down when the file is done. */
export function testRoleContext(catalog: TopicCatalog, overrides: Partial<Config> = {}): RoleContext {
  const lifecycle = new Lifecycle({ logger: testLogger })
  const context = createRoleContext({ config: { ...config(), ...overrides }, logger: testLogger, metrics: new Registry(), lifecycle, instanceId: uniqueName('test'), catalog })
  afterAll(() => lifecycle.shutdown())
  return context
}

/** The committed changelog's latest vector per customer (read_committed, so aborted records are invisible). */
export async function latestChangelogVectors(kafka: Kafka, registry: SchemaRegistry, catalog: TopicCatalog, timeoutMs: number): Promise<Map<string, number[]>> {
  const codec = new AvroCodec(registry, loadSchema('featureVector'), `${catalog.customerFeatures.name}-value`)
  const latest = new Map<string, number[]>()
  for (const record of await consumeUntil(kafka, catalog.customerFeatures.name, () => false, { timeoutMs })) {
    const decoded = await codec.decode(record.value)
    if (!decoded.ok) throw new Error(decoded.message)
    const vector = decoded.value as { customer_id: string; values: number[] }
    latest.set(vector.customer_id, vector.values)
  }
  return latest
}
