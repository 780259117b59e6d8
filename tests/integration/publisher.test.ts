import { describe, expect, it } from 'vitest'
import { createKafka } from '../../core/kafka.js'
import { EventPublisher, PublishTransportError, PublishValidationError } from '../../producers/publisher/index.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import type { CustomerEvent } from '../../schemas/events.js'
import { consumeUntil, testCatalog, testKafka, testLogger, testRegistry } from '../support/factories.js'
import { usageEvent } from '../support/events.js'

const kafka = testKafka()
const registry = testRegistry()
const catalog = await testCatalog(kafka)

describe('event publisher', () => {
  it('publishes validated events keyed by customer, decodable by consumers', async () => {
    const publisher = new EventPublisher({ kafka, registry, topic: catalog.customerEvents, logger: testLogger })
    const start = Date.now() - 60_000
    const events: CustomerEvent[] = Array.from({ length: 50 }, (_, i) => usageEvent(`c-${i % 7}`, start + i))
    const [first, ...rest] = events
    if (first === undefined) throw new Error('no events')
    const receipt = await publisher.publish(first)
    expect(receipt).toEqual({ event_id: first.event_id, customer_id: first.customer_id })
    expect(await publisher.publishBatch(rest)).toHaveLength(rest.length)
    await publisher.close()
    await publisher.close()

    const records = await consumeUntil(kafka, catalog.customerEvents.name, (read) => read.length >= events.length)
    expect(records).toHaveLength(events.length)
    const codec = new CustomerEventCodec(registry, catalog.customerEvents)
    const decoded: CustomerEvent[] = []
    const partitionOf = new Map<string, number>()
    for (const record of records) {
      const outcome = await codec.decode(record.value)
      if (!outcome.ok) throw new Error(outcome.message)
      decoded.push(outcome.value)
      expect(record.key).toBe(outcome.value.customer_id)
      // One customer, one partition: per-customer order holds.
      expect(partitionOf.get(outcome.value.customer_id) ?? record.partition).toBe(record.partition)
      partitionOf.set(outcome.value.customer_id, record.partition)
    }
    const byId = (a: CustomerEvent, b: CustomerEvent): number => a.event_id.localeCompare(b.event_id)
    expect(decoded.sort(byId)).toEqual([...events].sort(byId))
  })

  it('rejects invalid events with a typed error that says retrying cannot help, and sends none of a bad batch', async () => {
    const publisher = new EventPublisher({ kafka, registry, topic: catalog.shadowScores, logger: testLogger })
    const error: unknown = await publisher.publish({ customer_id: 'c-1', type: 'usage', event_time: Date.now(), payload: { sessions: -1 } }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(PublishValidationError)
    expect(error).toMatchObject({ code: 'VALIDATION', canRetry: false })
    expect((error as PublishValidationError).problems).toEqual(expect.arrayContaining([expect.stringMatching(/^payload\.sessions: /u), expect.stringMatching(/^payload\.minutes: /u)]))

    const batch = [usageEvent('c-ok', Date.now()), { customer_id: 'bad id', type: 'usage', event_time: Date.now(), payload: {} }]
    const batchError: unknown = await publisher.publishBatch(batch).catch((caught: unknown) => caught)
    expect((batchError as PublishValidationError).problems[0]).toMatch(/^\[1\] customer_id: /u)
    await publisher.close()
    await expect(publisher.publish(usageEvent('c-late', Date.now()))).rejects.toMatchObject({ code: 'CLOSED' })
  })

  it('reports an unreachable cluster as a retriable transport error after bounded retries', async () => {
    const unreachable = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'unreachable', logger: testLogger, connectionTimeout: 200, requestTimeout: 500 })
    const publisher = new EventPublisher({ kafka: unreachable, registry, topic: catalog.customerEvents, logger: testLogger }, { maxRetries: 1, initialRetryMs: 10 })
    const error: unknown = await publisher.publish(usageEvent('c-1', Date.now())).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(PublishTransportError)
    expect(error).toMatchObject({ code: 'TRANSPORT', canRetry: true })
    await publisher.close()
  }, 60_000)
})
