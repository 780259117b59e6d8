import { afterAll, describe, expect, it } from 'vitest'
import { createIdempotentProducer } from '../../core/kafka.js'
import { startScorer } from '../../consumers/scorer/index.js'
import { churnFeatures } from '../../feature-store/declarations.js'
import { FeatureSet } from '../../feature-store/feature-set.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { consumeUntil, pollUntil, testCatalog, testKafka, testRoleContext, type ConsumedRecord } from '../support/factories.js'
import { publishingModelRegistry, trainedArtifacts } from '../support/models.js'

const featureSet = new FeatureSet(churnFeatures)
const names = featureSet.names
const kafka = testKafka()
const catalog = await testCatalog(kafka, 2)
const context = testRoleContext(catalog)
const registry = await publishingModelRegistry(kafka, context, 'scorer')
const producer = createIdempotentProducer(kafka)
await producer.connect()
afterAll(async () => {
  await producer.disconnect()
})

const vectors = new AvroCodec(context.registry, loadSchema('featureVector'), `${catalog.customerFeatures.name}-value`)
await vectors.schemaId()
const scoreCodec = new AvroCodec(context.registry, loadSchema('churnScore'), `${catalog.scores.name}-value`)
const first = trainedArtifacts(names, featureSet.version, { seed: 1 })
const second = trainedArtifacts(names, featureSet.version, { seed: 2, trees: 20 })
const foreign = trainedArtifacts(names, 'fs-elsewhere', { seed: 3, trees: 5 })

async function register(artifact: Uint8Array, modelType = 'gbdt', fsv = featureSet.version): Promise<string> {
  const version = await registry.register({ artifact, modelType, featureSetVersion: fsv, metrics: { roc_auc: 0.8 }, params: {}, trainingWindow: { from: 0, to: 1 }, dataHash: 'h', codeVersion: 'test', actor: 'test' })
  return version.version
}

let sequence = 0
async function publishVectors(count: number, options: { fsv?: string; width?: number } = {}): Promise<void> {
  const messages = Array.from({ length: count }, () => {
    const n = sequence++
    const row = first.sample.subarray((n % 20) * names.length, ((n % 20) + 1) * names.length)
    return {
      key: `c${n % 50}`,
      value: vectors.encode({
        customer_id: `c${n % 50}`,
        feature_set_version: options.fsv ?? featureSet.version,
        values: Array.from(row).slice(0, options.width ?? names.length),
        newest_event_time: Date.now() - 1_000,
        computed_at: Date.now(),
        source_partition: 0,
        source_offset: n,
      }),
    }
  })
  await producer.send({ topic: catalog.customerFeatures.name, acks: -1, messages })
}

interface DecodedScore {
  customer_id: string
  probability: number
  risk_band: string
  model_version: string
  fallback_level: string
  top_reasons: { feature: string; contribution: number; value: number | null }[]
  feature_age_ms: number
  partition: number
}

async function decodeAll(records: ConsumedRecord[]): Promise<DecodedScore[]> {
  return Promise.all(records.map(async (record) => {
    const outcome = await scoreCodec.decode(record.value)
    if (!outcome.ok) throw new Error(outcome.message)
    return { ...(outcome.value as DecodedScore), partition: record.partition }
  }))
}

const scoresUntil = async (topic: string, count: number): Promise<DecodedScore[]> => decodeAll(await consumeUntil(kafka, topic, (read) => read.length >= count, { timeoutMs: 30_000 }))

describe('scorer role', () => {
  it('scores by rules before any model exists, then hot-swaps to each promoted champion without losing or repeating a score, and refuses an incompatible one', async () => {
    await publishVectors(40)
    const role = await startScorer(context, featureSet, { groupId: `${catalog.prefix}scorer`, sessionTimeoutMs: 6_000, modelCatchUpMs: 5_000 })
    try {
      const before = await scoresUntil(catalog.scores.name, 40)
      expect(before).toHaveLength(40)
      expect(new Set(before.map((s) => s.fallback_level))).toEqual(new Set(['rules']))

      const v1 = await register(first.gbdt)
      await registry.promote(v1, 'test', 'first champion')
      const v2 = await register(second.gbdt)
      // Vectors keep flowing while the registry moves: v1, then v2, then an incompatible v3 that is refused.
      let swapped = false
      const flow = (async () => {
        for (let round = 0; round < 30; round++) {
          await publishVectors(10)
          if (round === 10) await registry.promote(v2, 'test', 'better')
          if (round === 20) {
            const v3 = await register(foreign.gbdt, 'gbdt', 'fs-elsewhere')
            await registry.promote(v3, 'test', 'trained on another feature set')
            swapped = true
          }
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      })()
      await flow
      expect(swapped).toBe(true)
      const all = await scoresUntil(catalog.scores.name, 40 + 300)
      // Read a little longer: nothing beyond one score per record may arrive.
      const settled = await decodeAll(await consumeUntil(kafka, catalog.scores.name, () => false, { timeoutMs: 3_000 }))
      expect(all).toHaveLength(340)
      expect(settled).toHaveLength(340)
      const later = settled.slice(0)
      // Per partition, versions only move forward: rules -> v1 -> v2, never back, and v3 never serves.
      const rank = new Map([['rules', 0], [v1, 1], [v2, 2]])
      for (const partition of [0, 1]) {
        const versions = later.filter((s) => s.partition === partition).map((s) => rank.get(s.model_version) ?? -1)
        expect(versions.every((r, i) => r >= 0 && (i === 0 || r >= (versions[i - 1] ?? 0)))).toBe(true)
      }
      expect(new Set(later.map((s) => s.model_version))).toEqual(new Set(['rules', v1, v2]))
      const byModel = later.filter((s) => s.fallback_level === 'champion')
      expect(byModel.length).toBeGreaterThan(0)
      for (const score of byModel) {
        expect(score.top_reasons).toHaveLength(3)
        expect(score.feature_age_ms).toBeGreaterThanOrEqual(1_000)
      }
      const loads = await pollUntil(
        async () => (await context.metrics.getSingleMetric('churn_scorer_model_loads_total')?.get())?.values.map((v) => `${String(v.labels['outcome'])}=${v.value}`).sort() ?? [],
        (values) => values.includes('refused=1'),
      )
      expect(loads).toEqual(['loaded=2', 'refused=1'])
    } finally {
      await role.close()
    }
  })

  it('shadow-scores with the challenger, dead-letters bad records with the reason, and consumed = scored + dead-lettered', async () => {
    const v4 = await register(second.logistic, 'logistic')
    await registry.setChallenger(v4, 'test', 'shadow the logistic model')
    // The same group as before: it carries on from its committed offsets.
    const role = await startScorer(context, featureSet, { groupId: `${catalog.prefix}scorer`, sessionTimeoutMs: 6_000, modelCatchUpMs: 5_000 })
    try {
      await publishVectors(5, { width: names.length - 1 })
      await producer.send({ topic: catalog.customerFeatures.name, acks: -1, messages: [{ key: 'c1', value: Buffer.from('not avro') }] })
      await publishVectors(20)
      const dead = await consumeUntil(kafka, catalog.deadLetter(catalog.customerFeatures).name, (read) => read.length >= 6, { timeoutMs: 30_000 })
      expect(dead.map((record) => record.headers['churn.dlq.reason']).sort()).toEqual(['BAD_MAGIC_BYTE', ...Array<string>(5).fill('INVALID_CONTENT')])
      expect(dead.find((record) => record.headers['churn.dlq.reason'] === 'INVALID_CONTENT')?.headers['churn.dlq.error']).toMatch(/has 36 features, the record has 35 values/u)
      const scored = await scoresUntil(catalog.scores.name, 360)
      const shadow = await scoresUntil(catalog.shadowScores.name, 20)
      expect(new Set(shadow.map((s) => `${s.model_version}/${s.fallback_level}`))).toEqual(new Set([`${v4}/challenger`]))
      // Settled: nothing more arrives than one score per good record.
      const settled = await consumeUntil(kafka, catalog.scores.name, () => false, { timeoutMs: 3_000 })
      expect([scored.length, settled.length, shadow.length]).toEqual([360, 360, 20])
      const outcomes = (await context.metrics.getSingleMetric('churn_scorer_records_total')?.get())?.values ?? []
      const count = (outcome: string): number => outcomes.filter((v) => v.labels['outcome'] === outcome).reduce((sum, v) => sum + v.value, 0)
      // Both runs of the role share the process's metrics: 366 records consumed in all.
      expect(count('scored') + count('dead_lettered')).toBe(366)
      expect(count('dead_lettered')).toBe(6)
    } finally {
      await role.close()
    }
  })
})

describe('scorer suppression', () => {
  it('suppresses a score that moved less than epsilon within its band, and emits one that changed band', async () => {
    const quiet = await testCatalog(kafka, 1)
    const quietContext = testRoleContext(quiet)
    const codec = new AvroCodec(quietContext.registry, loadSchema('featureVector'), `${quiet.customerFeatures.name}-value`)
    await codec.schemaId()
    const vector = (set: Record<string, number>, offset: number): { key: string; value: Buffer } => {
      const values = names.map((name) => set[name] ?? Number.NaN)
      return { key: 'c1', value: codec.encode({ customer_id: 'c1', feature_set_version: featureSet.version, values, newest_event_time: Date.now(), computed_at: Date.now(), source_partition: 0, source_offset: offset }) }
    }
    const risky = { failed_payments_30d: 2, days_since_usage: 30, is_month_to_month: 1 }
    // Unchanged, unchanged, to critical (rules: base rate plus 3.3 log-odds), unchanged again.
    await producer.send({ topic: quiet.customerFeatures.name, acks: -1, messages: [vector({}, 0), vector({}, 1), vector(risky, 2), vector(risky, 3)] })
    const role = await startScorer(quietContext, featureSet, { groupId: `${quiet.prefix}scorer`, epsilon: 0.05, sessionTimeoutMs: 6_000, modelCatchUpMs: 2_000 })
    try {
      const outcomes = await pollUntil(
        async () => (await quietContext.metrics.getSingleMetric('churn_scorer_records_total')?.get())?.values ?? [],
        (values) => values.reduce((sum, v) => sum + v.value, 0) >= 4,
      )
      const scores = await decodeAll(await consumeUntil(kafka, quiet.scores.name, () => false, { timeoutMs: 3_000 }))
      expect(scores.map((s) => [s.risk_band, s.fallback_level])).toEqual([['low', 'rules'], ['critical', 'rules']])
      expect(Object.fromEntries(outcomes.map((v) => [String(v.labels['outcome']), v.value]))).toEqual({ scored: 2, suppressed: 2, dead_lettered: 0 })
    } finally {
      await role.close()
    }
  })
})
