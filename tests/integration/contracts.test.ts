import { describe, expect, it } from 'vitest'
import { config } from '../../core/config.js'
import { isChurnError } from '../../core/errors.js'
import { loadSchema, type LoadedSchema } from '../../schemas/avro.js'
import { TopicCatalog, topicConfig } from '../../schemas/catalog.js'
import { AvroCodec } from '../../schemas/codec.js'
import { registerSchemas } from '../../schemas/registration.js'
import { applyTopics } from '../../schemas/topic-admin.js'
import { testKafka, testRegistry, uniqueName } from '../support/factories.js'
import avro from 'avsc'
import { afterAll } from 'vitest'

const kafka = testKafka()
const registry = testRegistry()

describe('topic catalog on the broker', () => {
  it('creates every topic once, then only changes what differs', async () => {
    const catalog = new TopicCatalog({ prefix: `${uniqueName('t.apply')}.`, partitions: 2 })
    const admin = kafka.admin()
    await admin.connect()
    afterAll(async () => {
      await admin.deleteTopics({ topics: catalog.topics.map((topic) => topic.name) })
      await admin.disconnect()
    })

    const first = await applyTopics(admin, catalog.topics)
    expect(first.created.sort()).toEqual(catalog.topics.map((topic) => topic.name).sort())

    const second = await applyTopics(admin, catalog.topics)
    expect(second.created).toEqual([])
    expect(second.updated).toEqual([])
    expect(second.unchanged).toHaveLength(catalog.topics.length)

    const grown = { ...catalog.customerEvents, partitions: 4, retentionMs: 86_400_000 }
    const third = await applyTopics(admin, [grown])
    expect(third.updated).toEqual([{ topic: grown.name, changes: ['partitions 2 -> 4', `retention.ms ${14 * 86_400_000} -> 86400000`] }])
    const metadata = await admin.fetchTopicMetadata({ topics: [grown.name] })
    expect(metadata.topics[0]?.partitions).toHaveLength(4)

    const shrunk = await applyTopics(admin, [{ ...grown, partitions: 1 }])
    expect(shrunk.warnings[0]).toMatch(/has 4 partitions, more than the 1 asked for/u)
    expect(topicConfig(catalog.modelArtifacts)['max.message.bytes']).toBe(String(32 * 1024 * 1024))
  })
})

describe('schema registration', () => {
  it('registers every value schema idempotently and refuses an incompatible change, naming the subject', async () => {
    const catalog = new TopicCatalog({ prefix: `${uniqueName('t.schemas')}.` })
    const first = await registerSchemas(registry, config().SCHEMA_REGISTRY_URL, catalog.topics)
    expect(first.map((entry) => entry.subject)).toEqual(catalog.topics.filter((topic) => topic.schema !== undefined).map((topic) => `${topic.name}-value`))
    const again = await registerSchemas(registry, config().SCHEMA_REGISTRY_URL, catalog.topics)
    expect(again).toEqual(first)

    // A required field with no default breaks BACKWARD: readers of the new schema cannot read old events.
    const base = loadSchema('customerEvent')
    const json = { ...base.json, fields: [...(base.json['fields'] as unknown[]), { name: 'tenant', type: 'string' }] }
    const changed: LoadedSchema = { ...base, json, text: JSON.stringify(json), type: avro.Type.forSchema(json as avro.Schema) }
    const subject = `${catalog.customerEvents.name}-value`
    const error: unknown = await new AvroCodec(registry, changed, subject).schemaId().catch((caught: unknown) => caught)
    expect(isChurnError(error, 'SCHEMA_INCOMPATIBLE')).toBe(true)
    expect((error as Error).message).toContain(`subject ${subject}`)
    expect((error as Error).message).toMatch(/incompatible/iu)
  })
})
