import { describe, expect, it } from 'vitest'
import { deadLetterHeaders, headerText } from '../../core/dead-letter.js'
import { createIdempotentProducer, TransactionalPipeline } from '../../core/kafka.js'
import { decodeEventBatch } from '../../consumers/event-decoding.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import { consumeUntil, testCatalog, testKafka, testLogger, testRegistry, uniqueName } from '../support/factories.js'
import { usageEvent } from '../support/events.js'

const kafka = testKafka()
const registry = testRegistry()
const catalog = await testCatalog(kafka, 1)

describe('dead-lettering bad customer events', () => {
  it('sends each undecodable or invalid record to the dead-letter topic with its reason and loses nothing valid', async () => {
    const codec = new CustomerEventCodec(registry, catalog.customerEvents)
    await codec.schemaId()
    const features = new AvroCodec(registry, loadSchema('featureVector'), `${catalog.customerFeatures.name}-value`)
    await features.schemaId()
    const now = Date.now()
    const good = [usageEvent('c-1', now - 2_000), usageEvent('c-2', now - 1_000)]
    const valid = codec.encode(good[0] ?? usageEvent('x', now))
    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), valid.subarray(5)])
    const truncated = valid.subarray(0, 12)
    const negative = codec.encode({ ...usageEvent('c-3', now), payload: { sessions: -5, minutes: 1, data_mb: 1 } })
    const wrongSchema = features.encode({ customer_id: 'c-4', feature_set_version: 'v1', values: [1], newest_event_time: now, computed_at: now, source_partition: 0, source_offset: 1 })
    const inputs: { reason?: string; value: Buffer }[] = [
      { value: valid },
      { reason: 'BAD_MAGIC_BYTE', value: Buffer.from('{"customer_id":"c-9"}') },
      { reason: 'UNKNOWN_SCHEMA_ID', value: unknownId },
      { reason: 'AVRO_DECODE', value: truncated },
      { reason: 'INVALID_CONTENT', value: negative },
      { reason: 'INCOMPATIBLE_SCHEMA', value: wrongSchema },
      { value: codec.encode(good[1] ?? usageEvent('y', now)) },
    ]
    const producer = createIdempotentProducer(kafka)
    await producer.connect()
    await producer.send({ topic: catalog.customerEvents.name, acks: -1, messages: inputs.map((input, i) => ({ key: `k-${i}`, value: input.value })) })
    await producer.disconnect()

    const output = catalog.shadowScores.name
    const deadLetterTopic = catalog.deadLetter(catalog.customerEvents).name
    let consumed = 0
    const pipeline = new TransactionalPipeline({
      kafka,
      logger: testLogger,
      groupId: uniqueName('g.dlq'),
      transactionalId: uniqueName('tx.dlq'),
      topics: [catalog.customerEvents.name],
      transform: async (batch) => {
        consumed += batch.messages.length
        const { events, deadLetters } = await decodeEventBatch(codec, batch, 'test-validate')
        return [
          { topic: output, messages: events.map(({ event }) => ({ key: event.customer_id, value: JSON.stringify(event) })) },
          { topic: deadLetterTopic, messages: deadLetters },
        ]
      },
    })
    await pipeline.start()
    try {
      const forwarded = await consumeUntil(kafka, output, (read) => read.length >= 2)
      const dead = await consumeUntil(kafka, deadLetterTopic, (read) => read.length >= 5)
      expect(consumed).toBe(inputs.length)
      expect(forwarded.map((record) => JSON.parse(record.value?.toString() ?? '{}') as unknown)).toEqual(good)
      expect(dead).toHaveLength(5)
      expect(forwarded.length + dead.length).toBe(consumed)

      expect(dead.map((record) => record.key)).toEqual(['k-1', 'k-2', 'k-3', 'k-4', 'k-5'])
      const expected = inputs.slice(1, 6)
      dead.forEach((record, i) => {
        expect(record.value?.equals(expected[i]?.value ?? Buffer.alloc(0))).toBe(true)
      })
    } finally {
      await pipeline.close()
    }

    // Headers carry the reason, the error and where the record came from.
    const withHeaders = kafka.consumer({ groupId: uniqueName('g.dlq.read') })
    await withHeaders.connect()
    await withHeaders.subscribe({ topic: deadLetterTopic, fromBeginning: true })
    const headers: Record<string, string | undefined>[] = []
    await new Promise<void>((resolve) => {
      void withHeaders.run({
        eachMessage: ({ message }) => {
          headers.push(Object.fromEntries(Object.values(deadLetterHeaders).map((name) => [name, headerText(message.headers, name)])))
          if (headers.length === 5) resolve()
          return Promise.resolve()
        },
      })
    })
    await withHeaders.disconnect()
    expect(headers.map((h) => h[deadLetterHeaders.reason])).toEqual(inputs.slice(1, 6).map((input) => input.reason))
    expect(headers.map((h) => h[deadLetterHeaders.sourceOffset])).toEqual(['1', '2', '3', '4', '5'])
    expect(headers.every((h) => h[deadLetterHeaders.sourceTopic] === catalog.customerEvents.name && h[deadLetterHeaders.stage] === 'test-validate')).toBe(true)
    expect(headers[3]?.[deadLetterHeaders.error]).toMatch(/payload\.sessions: Too small/u)
    expect(headers[1]?.[deadLetterHeaders.error]).toMatch(/unknown schema id 2147483632/u)
  })
})
