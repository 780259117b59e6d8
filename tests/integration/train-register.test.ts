import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
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
    const dir = tempDir('train')
    // A small table with a real signal: churn follows short tenure and high charges.
    const lines = ['customer,tenure,monthly_charge,contract,churn']
    for (let i = 0; i < 600; i += 1) {
      const tenure = (i * 37) % 72
      const charge = 20 + ((i * 53) % 100)
      const contract = ['month', 'year', 'two'][i % 3] ?? 'month'
      const churned = tenure < 12 && charge > 70 && contract === 'month' ? 'yes' : i % 17 === 0 ? 'yes' : 'no'
      lines.push(`c${i},${tenure},${charge},${contract},${churned}`)
    }
    const csv = join(dir, 'table.csv')
    writeFileSync(csv, lines.join('\n'))
    const env = { ...process.env, TOPIC_PREFIX: catalog.prefix, CLICKHOUSE_PATH: join(dir, 'offline') }
    const churn = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [join(projectRoot, 'bin', 'churn.js'), ...args], { encoding: 'utf8', env })
    const trained = churn('train', '--csv', csv, '--label', 'churn', '--id', 'customer', '--folds', '2', '--register')
    expect(trained.status).toBe(0)
    expect(String(trained.stdout)).toMatch(/registered v1 \(csv-[0-9a-f]{12}, \d+ bytes of ONNX\)/u)
    const listed = churn('models', 'list')
    expect(String(listed.stdout)).toMatch(/^v1\s+gbdt .* ROC-AUC 0\.\d{4}\s+csv-[0-9a-f]{12}\s*$/mu)
    expect(String(listed.stdout)).not.toMatch(/champion/u)

    const codec = new AvroCodec(registry, loadSchema('modelEvent'), `${catalog.modelEvents.name}-value`)
    const [record] = await consumeUntil(kafka, catalog.modelEvents.name, (read) => read.length >= 1)
    const decoded = await codec.decode(record?.value ?? null)
    expect(decoded.ok && decoded.value).toMatchObject({ version: 'v1', transition: 'registered', actor: 'cli:train' })
  }, 90_000)
})
