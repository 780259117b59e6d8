import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { trainerRole } from '../../consumers/trainer/index.js'
import { createIdempotentProducer } from '../../core/kafka.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { DAY_MS, FeatureSet } from '../../feature-store/feature-set.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { eventRow } from '../../feature-store/offline/rows.js'
import { createSimulator } from '../../producers/simulator/index.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import type { CustomerEvent } from '../../schemas/events.js'
import { ModelRegistry } from '../../trainer/registry/index.js'
import { consumeUntil, pollUntil, tempDir, testCatalog, testKafka, testRegistry, testRoleContext } from '../support/factories.js'

const kafka = testKafka()
const schemaRegistry = testRegistry()
const catalog = await testCatalog(kafka, 1)
const context = testRoleContext(catalog, { CLICKHOUSE_PATH: tempDir('chdb-trainer') })
const client = context.offline()
const producer = createIdempotentProducer(kafka)
await producer.connect()
afterAll(() => producer.disconnect())

const start = Date.UTC(2026, 0, 1)
const simulator = createSimulator({ seed: 3, customers: 300, start, signupsPerDay: 2 })
const requestCodec = new AvroCodec(schemaRegistry, loadSchema('retrainRequest'), `${catalog.retrainRequests.name}-value`)
const eventCodec = new AvroCodec(schemaRegistry, loadSchema('modelEvent'), `${catalog.modelEvents.name}-value`)
const cooldownMs = 4_000
let loaded = 0

/** Writes simulated events to the offline store as the offline sink would, and returns the newest event time. */
async function load(events: readonly CustomerEvent[]): Promise<number> {
  const rows = events.map((event) => eventRow(event, { topic: catalog.customerEvents.name, partition: 0, offset: String(loaded++) }))
  for (let i = 0; i < rows.length; i += 50_000) await client.insert({ table: 'customer_events', values: rows.slice(i, i + 50_000), format: 'JSONEachRow' })
  return events.reduce((newest, event) => Math.max(newest, event.event_time), 0)
}

function request(id: string, eventTime: number): Buffer {
  return requestCodec.encode({
    request_id: id,
    requested_at: Date.now(),
    // Scheduled: a drift request would wait for post-drift labels (the loop test covers that).
    reason: 'schedule',
    model_version: null,
    evidence: [],
    event_time: eventTime,
  })
}

async function publish(...values: Buffer[]): Promise<void> {
  await producer.send({ topic: catalog.retrainRequests.name, acks: -1, messages: values.map((value) => ({ key: 'churn', value })) })
}

/** The sum of a metric's series whose labels include `labels` (for a histogram: of its counts). */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await context.metrics.getSingleMetric(name)?.get())?.values ?? []
  return values
    .filter((entry) => !('metricName' in entry) || entry.metricName === undefined || entry.metricName === `${name}_count`)
    .filter((entry) => Object.entries(labels).every(([label, value]) => entry.labels[label] === value))
    .reduce((sum, entry) => sum + entry.value, 0)
}

describe('trainer role', () => {
  it('trains once for coalesced duplicates and promotes the first model, then gates a challenger against it after the cooldown', async () => {
    await migrate(client)
    const models = new ModelRegistry(client)
    expect(await models.aliases()).toEqual({})
    const firstEnd = await load(simulator.advanceTo(start + 150 * DAY_MS))
    await requestCodec.schemaId()
    const [r1, r2, r3, r4, r5] = Array.from({ length: 5 }, (_, i) => `req-${i + 1}-${randomUUID().slice(0, 6)}`) as [string, string, string, string, string]
    // Three requests raised on the same evidence, and a record that is no request at all.
    await publish(request(r1, firstEnd), request(r2, firstEnd), Buffer.from('not avro'), request(r3, firstEnd - DAY_MS))

    const started = performance.now()
    const trainer = await trainerRole(new FeatureSet(churnFeatures), {
      cooldownMs,
      sampleEveryDays: 7,
      gbdt: { numTrees: 60, learningRate: 0.1, numLeaves: 7, minSamplesLeaf: 20, earlyStoppingRounds: 15 },
    }).start(context)
    try {
      await pollUntil(() => metric('churn_trainer_runs_total'), (runs) => runs >= 1, 40_000)
      const firstRunSeconds = (performance.now() - started) / 1000
      expect(await metric('churn_trainer_runs_total', { outcome: 'promoted' })).toBe(1)
      expect(await models.aliases()).toEqual({ champion: 'v1' })
      let history = await models.history()
      expect(history.map((h) => `${h.transition}:${h.version}`)).toEqual(['registered:v1', 'registered:v2', 'promoted:v1'])
      expect((await models.get('v1')).modelType).toBe('gbdt')
      expect((await models.get('v2')).modelType).toBe('logistic')
      // The registration names every request behind the run; the promotion carries the gate's reasons.
      for (const id of [r1, r2, r3]) expect(history[0]?.reason).toContain(id)
      expect(history[0]?.reason).toContain('3 requests coalesced into one run')
      expect(history[2]?.reason).toMatch(/^gate passed: passes the floors with ROC-AUC 0\.\d{4} and no champion to beat/u)
      expect(await metric('churn_trainer_requests_consumed_total')).toBe(3)
      expect(await metric('churn_trainer_requests_coalesced_total')).toBe(2)
      expect(await metric('churn_trainer_requests_dead_lettered_total', { reason: 'BAD_MAGIC_BYTE' })).toBe(1)
      expect(await metric('churn_trainer_training_rows', { split: 'train' })).toBeGreaterThan(1_000)
      const championAuc = await metric('churn_trainer_champion_holdout_roc_auc')
      expect(championAuc).toBe(await metric('churn_trainer_challenger_holdout_roc_auc'))
      expect(championAuc).toBeGreaterThan(0.65)

      // Within the cooldown: the same evidence again needs no run; new data and a newer request do, once it is over.
      await publish(request(r4, firstEnd))
      const secondEnd = await load(simulator.advanceTo(start + 180 * DAY_MS))
      await publish(request(r5, secondEnd))
      await pollUntil(() => metric('churn_trainer_runs_total'), (runs) => runs >= 2, 40_000)
      expect(await metric('churn_trainer_requests_coalesced_total')).toBe(3)
      history = await models.history()
      expect(history.map((h) => `${h.transition}:${h.version}`).slice(3, 5)).toEqual(['registered:v3', 'registered:v4'])
      const decision = history[5]
      expect(decision?.version).toBe('v3')
      expect(history[3]?.reason).toContain(r5)
      expect(history[3]?.reason).not.toContain(r4)
      // Either way, the decision compares both models on the same holdout and says why.
      if (decision?.transition === 'promoted') {
        expect(decision.reason).toMatch(/^gate passed: ROC-AUC 0\.\d{4} beats the champion's 0\.\d{4} by at least 0\.005$/u)
        expect((await models.aliases()).champion).toBe('v3')
      } else {
        expect(decision?.transition).toBe('rejected')
        expect(decision?.reason).toMatch(/ROC-AUC 0\.\d{4} does not beat the champion's 0\.\d{4} by 0\.005|below the floor|above the ceiling/u)
        expect((await models.aliases()).champion).toBe('v1')
      }
      // The second run waited for the cooldown after the first.
      const firstDone = history[2]?.at ?? 0
      expect(history[3]?.at ?? 0).toBeGreaterThanOrEqual(firstDone + cooldownMs)
      expect(await metric('churn_trainer_runs_total')).toBe(2)
      expect(await metric('churn_trainer_run_duration_seconds')).toBe(2)

      // Every transition is on churn.model.events, in order.
      const published = await consumeUntil(kafka, catalog.modelEvents.name, (read) => read.length >= history.length)
      const transitions = await Promise.all(published.map(async (record) => {
        const decoded = await eventCodec.decode(record.value)
        if (!decoded.ok) throw new Error(decoded.message)
        return decoded.value as { transition: string; version: string; actor: string; reason: string }
      }))
      expect(transitions.map((e) => `${e.transition}:${e.version}`)).toEqual(history.map((h) => `${h.transition}:${h.version}`))
      expect(transitions.every((e) => e.actor === 'trainer')).toBe(true)
      expect(transitions[5]?.reason).toBe(decision?.reason)
      const deadLetters = await consumeUntil(kafka, catalog.deadLetter(catalog.retrainRequests).name, (read) => read.length >= 1)
      expect(deadLetters.map((record) => record.value?.toString())).toEqual(['not avro'])
      console.log(`trainer role: first run after ${firstRunSeconds.toFixed(1)} s, whole test ${((performance.now() - started) / 1000).toFixed(1)} s`)
    } finally {
      await trainer.close()
    }
  }, 90_000)
})
