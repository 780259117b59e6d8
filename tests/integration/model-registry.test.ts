import { afterAll, describe, expect, it } from 'vitest'
import { createOfflineClient } from '../../core/clickhouse.js'
import { migrate } from '../../feature-store/offline/migrations.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { ModelEventPublisher, ModelRegistry, type RegisterRequest } from '../../trainer/registry/index.js'
import { consumeUntil, tempDir, testCatalog, testKafka, testRegistry } from '../support/factories.js'

const kafka = testKafka()
const schemaRegistry = testRegistry()
const catalog = await testCatalog(kafka, 1)
const client = createOfflineClient({ path: tempDir('chdb-registry') })
const events = new ModelEventPublisher(kafka, schemaRegistry, catalog)
afterAll(async () => {
  await events.close()
  await client.close()
})

const request = (auc: number, bytes: number[]): RegisterRequest => ({
  artifact: Uint8Array.from(bytes),
  modelType: 'gbdt',
  featureSetVersion: 'fs-test',
  metrics: { roc_auc: auc },
  params: { numTrees: 100 },
  trainingWindow: { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 2, 1) },
  dataHash: 'abc',
  codeVersion: 'test',
  actor: 'test',
})

describe('model registry', () => {
  it('registers versions with lineage, derives aliases from an append-only log, rolls back, and publishes every transition', async () => {
    await migrate(client)
    const registry = new ModelRegistry(client, { onTransition: events.listener })
    const first = await registry.register(request(0.8, [1, 2, 3]))
    const second = await registry.register(request(0.82, [4, 5, 6]))
    expect([first.version, second.version]).toEqual(['v1', 'v2'])
    expect(await registry.get('v1')).toMatchObject({ metrics: { roc_auc: 0.8 }, featureSetVersion: 'fs-test', dataHash: 'abc', trainingWindow: { from: Date.UTC(2026, 0, 1) } })
    expect(Array.from(await registry.artifact('v2'))).toEqual([4, 5, 6])
    expect(await registry.aliases()).toEqual({})

    await registry.promote('v1', 'test', 'first model')
    await registry.setChallenger('v2', 'test', 'shadow it')
    expect(await registry.aliases()).toEqual({ champion: 'v1', challenger: 'v2' })
    await registry.promote('v2', 'test', 'beats v1')
    expect(await registry.aliases()).toEqual({ champion: 'v2', previousChampion: 'v1' })
    expect(await registry.rollback('test', 'bad live metrics')).toBe('v1')
    expect((await registry.aliases()).champion).toBe('v1')
    await expect(registry.promote('v1', 'test', 'again')).rejects.toThrow(/already the champion/u)
    const third = await registry.register(request(0.5, [7]))
    await registry.reject(third.version, 'trainer', ['ROC-AUC 0.5000 is below the floor 0.65'])

    const history = await registry.history()
    expect(history.map((h) => `${h.transition}:${h.version}`)).toEqual(['registered:v1', 'registered:v2', 'promoted:v1', 'challenger_set:v2', 'promoted:v2', 'rolled_back:v1', 'registered:v3', 'rejected:v3'])
    expect(history.find((h) => h.transition === 'rejected')?.reason).toMatch(/below the floor/u)
    expect(new Set(history.map((h) => h.at)).size).toBe(history.length)

    const codec = new AvroCodec(schemaRegistry, loadSchema('modelEvent'), `${catalog.modelEvents.name}-value`)
    const published = await consumeUntil(kafka, catalog.modelEvents.name, (read) => read.length >= history.length)
    const decoded = await Promise.all(published.map(async (record) => {
      const outcome = await codec.decode(record.value)
      if (!outcome.ok) throw new Error(outcome.message)
      return outcome.value as { transition: string; version: string; event_id: string }
    }))
    expect(decoded.map((e) => `${e.transition}:${e.version}`)).toEqual(history.map((h) => `${h.transition}:${h.version}`))
    expect(decoded.map((e) => e.event_id)).toEqual(history.map((h) => h.eventId))
    const artifacts = await consumeUntil(kafka, catalog.modelArtifacts.name, (read) => read.length >= 3)
    expect(artifacts.map((record) => record.key)).toEqual(['v1', 'v2', 'v3'])
  })
})
