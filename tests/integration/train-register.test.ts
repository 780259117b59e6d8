import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'
import { loadSchema } from '../../schemas/avro.js'
import { AvroCodec } from '../../schemas/codec.js'
import { consumeUntil, tempDir, testCatalog, testKafka, testRegistry } from '../support/factories.js'

const kafka = testKafka()
const registry = testRegistry()
const catalog = await testCatalog(kafka, 1)

describe('churn train --register', () => {
  it('registers the model with its lineage, publishes the registration, and leaves promotion to a decision', async () => {
    const env = { ...process.env, TOPIC_PREFIX: catalog.prefix, CLICKHOUSE_PATH: tempDir('chdb-train') }
    const churn = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [join(projectRoot, 'bin', 'churn.js'), ...args], { encoding: 'utf8', env })
    const trained = churn('train', '--csv', join(projectRoot, '..', 'shared', 'data', 'mlc_churn.csv'), '--label', 'churn', '--folds', '2', '--register')
    expect(trained.status).toBe(0)
    expect(String(trained.stdout)).toMatch(/registered v1 \(csv-[0-9a-f]{12}, \d+ bytes of ONNX\)/u)
    const listed = churn('models', 'list')
    expect(String(listed.stdout)).toMatch(/^v1\s+gbdt .* ROC-AUC 0\.9\d{3}\s+csv-[0-9a-f]{12}\s*$/mu)
    expect(String(listed.stdout)).not.toMatch(/champion/u)

    const codec = new AvroCodec(registry, loadSchema('modelEvent'), `${catalog.modelEvents.name}-value`)
    const [record] = await consumeUntil(kafka, catalog.modelEvents.name, (read) => read.length >= 1)
    const decoded = await codec.decode(record?.value ?? null)
    expect(decoded.ok && decoded.value).toMatchObject({ version: 'v1', transition: 'registered', actor: 'cli:train' })
  }, 90_000)
})
