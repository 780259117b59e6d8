import { ConfigResourceTypes } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createIdempotentProducer, TransactionalPipeline } from '../../core/kafka.js'
import { consumeUntil, createTestTopics, testKafka, testLogger, uniqueName } from '../support/factories.js'

const kafka = testKafka()

describe('kafka', () => {
  it('creates a topic with the requested partitions and config', async () => {
    const topic = uniqueName('t.create')
    await createTestTopics(kafka, [{ topic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }])
    const admin = kafka.admin()
    await admin.connect()
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
      expect(metadata.topics[0]?.partitions).toHaveLength(3)
      const configs = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }], includeSynonyms: false })
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('compact')
    } finally {
      await admin.disconnect()
    }
  })

  it('shows read_committed consumers committed records and never aborted ones', async () => {
    const topic = uniqueName('t.tx')
    await createTestTopics(kafka, [{ topic }])
    const producer = createIdempotentProducer(kafka, { transactionalId: uniqueName('tx') })
    await producer.connect()
    try {
      const first = await producer.transaction()
      await first.send({ topic, messages: [{ key: 'c', value: 'committed-1' }, { key: 'c', value: 'committed-2' }] })
      await first.commit()
      const aborted = await producer.transaction()
      await aborted.send({ topic, messages: [{ key: 'c', value: 'aborted-1' }] })
      await aborted.abort()
      const last = await producer.transaction()
      await last.send({ topic, messages: [{ key: 'c', value: 'committed-3' }] })
      await last.commit()
    } finally {
      await producer.disconnect()
    }
    const values = (records: { value: Buffer | null }[]): string[] => records.map((r) => r.value?.toString() ?? '')

    const committed = await consumeUntil(kafka, topic, (records) => values(records).includes('committed-3'))
    expect(values(committed)).toEqual(['committed-1', 'committed-2', 'committed-3'])

    // The aborted record is in the log: an uncommitted reader sees it, which is what makes the check above meaningful.
    const everything = await consumeUntil(kafka, topic, (records) => values(records).includes('committed-3'), { readUncommitted: true })
    expect(values(everything)).toEqual(['committed-1', 'committed-2', 'aborted-1', 'committed-3'])
  })

  it('commits produced records and consumed offsets together, exactly once, across an aborted transaction', async () => {
    const input = uniqueName('t.pipe.in')
    const output = uniqueName('t.pipe.out')
    // A topic that refuses large record batches makes a transaction fail after part of it was written.
    const guard = uniqueName('t.pipe.guard')
    await createTestTopics(kafka, [
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 2 },
      { topic: guard, configEntries: [{ name: 'max.message.bytes', value: '65536' }] },
    ])
    const producer = createIdempotentProducer(kafka)
    await producer.connect()
    const count = 200
    await producer.send({ topic: input, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ key: `k${i % 17}`, value: String(i) })) })
    await producer.disconnect()

    const groupId = uniqueName('g.pipe')
    let failuresLeft = 1
    let aborted = 0
    let committedBatches = 0
    const pipeline = new TransactionalPipeline({
      kafka,
      logger: testLogger,
      groupId,
      transactionalId: uniqueName('tx.pipe'),
      topics: [input],
      transform: (batch) => {
        const messages = batch.messages.map((m) => ({ key: m.key, value: `out-${m.value?.toString() ?? ''}` }))
        if (failuresLeft > 0) {
          failuresLeft -= 1
          return Promise.resolve([{ topic: output, messages }, { topic: guard, messages: [{ value: Buffer.alloc(200_000) }] }])
        }
        return Promise.resolve([{ topic: output, messages }])
      },
      onCommitted: () => { committedBatches += 1 },
      onAborted: () => { aborted += 1 },
    })
    await pipeline.start()
    try {
      const records = await consumeUntil(kafka, output, (read) => read.length >= count, { timeoutMs: 45_000 })
      // Give a duplicate, if any, the time to show up before counting.
      const settled = await consumeUntil(kafka, output, (read) => read.length > count, { timeoutMs: 2_000 })
      expect(records.length).toBe(count)
      expect(settled.length).toBe(count)
      const produced = new Set(settled.map((r) => r.value?.toString()))
      expect(produced.size).toBe(count)
      expect(produced.has('out-0')).toBe(true)
      expect(produced.has(`out-${count - 1}`)).toBe(true)
      expect(aborted).toBe(1)
      expect(committedBatches).toBeGreaterThan(0)
    } finally {
      await pipeline.close()
    }
    await pipeline.close()
    expect(pipeline.state).toBe('stopped')

    await expectAllCommitted(groupId, input)
  })

  it('commits partitions concurrently, each in its own transaction, exactly once across a failed side effect', async () => {
    const input = uniqueName('t.part.in')
    const output = uniqueName('t.part.out')
    // Each batch produces more than the output topic takes in one record batch, so it must be split.
    await createTestTopics(kafka, [
      { topic: input, numPartitions: 3 },
      { topic: output, numPartitions: 3, configEntries: [{ name: 'max.message.bytes', value: '65536' }] },
    ])
    const producer = createIdempotentProducer(kafka)
    await producer.connect()
    const count = 900
    await producer.send({ topic: input, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ key: `k${i % 31}`, value: String(i) })) })
    await producer.disconnect()

    const groupId = uniqueName('g.part')
    let failuresLeft = 1
    let aborted = 0
    let inFlight = 0
    let mostInFlight = 0
    const pipeline = new TransactionalPipeline({
      kafka,
      logger: testLogger,
      groupId,
      transactionalId: uniqueName('tx.part'),
      producerScope: 'partition',
      partitionsConsumedConcurrently: 3,
      maxRequestBytes: 32_768,
      topics: [input],
      transform: async (batch) => {
        inFlight += 1
        mostInFlight = Math.max(mostInFlight, inFlight)
        await new Promise((resolve) => setTimeout(resolve, 50))
        inFlight -= 1
        const records = [{ topic: output, messages: batch.messages.map((m) => ({ key: m.key, value: Buffer.concat([Buffer.from(`out-${m.value?.toString() ?? ''}|`), Buffer.alloc(400)]) })) }]
        // A side effect that fails once: the records already sent with it must never be seen.
        const beforeCommit = failuresLeft > 0 ? Promise.reject(new Error('store unavailable')) : Promise.resolve()
        failuresLeft = 0
        return { records, beforeCommit }
      },
      onAborted: () => { aborted += 1 },
    })
    await pipeline.start()
    try {
      const values = (records: { value: Buffer | null }[]): Set<string> => new Set(records.map((r) => r.value?.toString().split('|')[0] ?? ''))
      const records = await consumeUntil(kafka, output, (read) => read.length >= count, { timeoutMs: 45_000 })
      const settled = await consumeUntil(kafka, output, (read) => read.length > count, { timeoutMs: 2_000 })
      expect(records.length).toBe(count)
      expect(settled.length).toBe(count)
      expect(values(settled).size).toBe(count)
      expect(aborted).toBe(1)
      expect(mostInFlight).toBeGreaterThan(1)
    } finally {
      await pipeline.close()
    }
    await expectAllCommitted(groupId, input)
  })
})

async function expectAllCommitted(groupId: string, topic: string): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const ends = await admin.fetchTopicOffsets(topic)
    const committedTotal = committed?.partitions.reduce((sum, p) => sum + Number(p.offset), 0)
    const endTotal = ends.reduce((sum, p) => sum + Number(p.offset), 0)
    expect(committedTotal).toBe(endTotal)
  } finally {
    await admin.disconnect()
  }
}
