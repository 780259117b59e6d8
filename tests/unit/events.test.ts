import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'
import { fromAvroEvent, loadSchema, toAvroEvent, type AvroCustomerEvent } from '../../schemas/avro.js'
import { TopicCatalog, topicConfig } from '../../schemas/catalog.js'
import * as contract from '../../schemas/events.js'
import { customerEventArbitrary } from '../support/events.js'

const now = Date.UTC(2026, 5, 1)
const parse = (input: unknown): ReturnType<ReturnType<typeof contract.customerEventSchema>['safeParse']> => contract.customerEventSchema({ now }).safeParse(input)
const problems = (input: unknown): string => {
  const result = parse(input)
  return result.success ? '' : contract.describeIssues(result.error)
}

const usage = { customer_id: 'c-1', event_time: now - 1_000, type: 'usage', payload: { sessions: 2, minutes: 10, data_mb: 5 } }

describe('customer event validation', () => {
  it('accepts a valid event, fills the event id and reads ISO times', () => {
    const result = parse({ ...usage, event_time: '2026-05-31T12:00:00Z' })
    expect(result.success).toBe(true)
    expect(result.data?.event_id).toMatch(/^[0-9a-f-]{36}$/u)
    expect(result.data?.event_time).toBe(Date.UTC(2026, 4, 31, 12))
  })

  it('names the field and the expectation for each kind of bad input', () => {
    expect(problems({ ...usage, customer_id: undefined })).toMatch(/^customer_id: /u)
    expect(problems({ ...usage, type: 'teleport' })).toMatch(/type: expected one of signup, plan_change/u)
    expect(problems({ ...usage, payload: { sessions: -1, minutes: 10, data_mb: 5 } })).toMatch(/payload\.sessions: Too small/u)
    expect(problems({ ...usage, payload: { sessions: 2, minutes: 10 } })).toMatch(/payload\.data_mb/u)
    expect(problems({ ...usage, payload: { sessions: 2.5, minutes: 10, data_mb: 5 } })).toMatch(/payload\.sessions: .*expected int/u)
    expect(problems({ ...usage, payload: { ...usage.payload, extra: 1 } })).toMatch(/payload: Unrecognized key: "extra"/u)
    expect(problems({ ...usage, event_id: 'not-a-uuid' })).toMatch(/event_id: Invalid UUID/u)
    expect(problems({ ...usage, customer_id: 'has space' })).toMatch(/customer_id: expected 1-64 letters/u)
    expect(problems({ ...usage, event_time: now + 10 * 60_000 })).toMatch(/event_time: .*in the future/u)
    expect(problems({ ...usage, event_time: Date.UTC(1999, 0, 1) })).toMatch(/event_time: .*before 2000/u)
    expect(problems({ ...usage, event_time: 'yesterday' })).toMatch(/event_time: expected epoch milliseconds or an ISO 8601/u)
    expect(problems({ ...usage, type: 'plan_change', payload: { plan: 'gold', contract: 'one_year', monthly_charge: 10, services: ['phone', 'phone'] } })).toMatch(/payload\.plan: .*payload\.services: services must not repeat/u)
  })

  it('allows clock skew up to the configured bound', () => {
    expect(contract.customerEventSchema({ now, maxClockSkewMs: 60_000 }).safeParse({ ...usage, event_time: now + 59_000 }).success).toBe(true)
    expect(contract.customerEventSchema({ now, maxClockSkewMs: 60_000 }).safeParse({ ...usage, event_time: now + 61_000 }).success).toBe(false)
  })
})

describe('Avro and zod contracts agree', () => {
  const avroEnum = (name: string): string[] => {
    const text = readFileSync(join(projectRoot, 'schemas', 'avro', 'customer-event.avsc'), 'utf8')
    const match = new RegExp(`"name": "${name}", "symbols": (\\[[^\\]]*\\])`, 'u').exec(text)
    return JSON.parse(match?.[1] ?? '[]') as string[]
  }

  it('has the same enum symbols on both sides', () => {
    expect(avroEnum('Plan')).toEqual([...contract.plans])
    expect(avroEnum('Contract')).toEqual([...contract.contracts])
    expect(avroEnum('PaymentMethod')).toEqual([...contract.paymentMethods])
    expect(avroEnum('Service')).toEqual([...contract.services])
    expect(avroEnum('Channel')).toEqual([...contract.channels])
    expect(avroEnum('PaymentStatus')).toEqual([...contract.paymentStatuses])
    expect(avroEnum('TicketCategory')).toEqual([...contract.ticketCategories])
    expect(avroEnum('Severity')).toEqual([...contract.severities])
    expect(avroEnum('CancellationReason')).toEqual([...contract.cancellationReasons])
  })

  it('round-trips every valid event through zod and Avro unchanged', () => {
    const type = loadSchema('customerEvent').type
    fc.assert(
      fc.property(customerEventArbitrary(now), (event) => {
        const validated = parse(event)
        expect(validated.success).toBe(true)
        const record = toAvroEvent(event)
        expect(type.isValid(record)).toBe(true)
        const decoded = fromAvroEvent(type.fromBuffer(type.toBuffer(record)) as AvroCustomerEvent)
        expect(decoded).toEqual(event)
        expect(parse(decoded).data).toEqual(event)
      }),
      { numRuns: 500 },
    )
  })

  it('rejects in Avro what breaks the structure in zod', () => {
    const type = loadSchema('customerEvent').type
    const event = { event_id: crypto.randomUUID(), customer_id: 'c', event_time: now, type: 'usage' as const, payload: { sessions: 1, minutes: 1, data_mb: 1 } }
    expect(type.isValid(toAvroEvent({ ...event, payload: { sessions: 1, minutes: 1 } as never }))).toBe(false)
    expect(type.isValid({ ...toAvroEvent(event), payload: { 'churn.events.Teleport': {} } })).toBe(false)
    expect(parse({ ...event, payload: { sessions: 1, minutes: 1 } }).success).toBe(false)
  })
})

describe('topic catalog', () => {
  it('prefixes every name, gives each input topic a dead-letter topic and compacts the changelogs', () => {
    const catalog = new TopicCatalog({ prefix: 'test.', partitions: 4 })
    const names = catalog.topics.map((topic) => topic.name)
    expect(names.every((name) => name.startsWith('test.'))).toBe(true)
    expect(new Set(names).size).toBe(names.length)
    expect(names).toContain('test.customer.events.dlq')
    expect(names).toContain('test.customer.features.dlq')
    expect(catalog.customerEvents.partitions).toBe(4)
    expect(topicConfig(catalog.customerFeatures)['cleanup.policy']).toBe('compact')
    expect(topicConfig(catalog.modelEvents)['cleanup.policy']).toBe('compact')
    // Retention of events counts from arrival, not from their (possibly old) event time.
    expect(topicConfig(catalog.customerEvents)).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': String(14 * 86_400_000), 'message.timestamp.type': 'LogAppendTime' })
    expect(catalog.deadLetter(catalog.customerEvents).schema).toBeUndefined()
    for (const topic of catalog.topics.filter((spec) => spec.schema !== undefined)) expect(() => loadSchema(topic.schema ?? 'customerEvent')).not.toThrow()
  })
})
