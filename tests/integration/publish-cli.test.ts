import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'
import { CustomerEventCodec } from '../../schemas/customer-event-codec.js'
import { consumeUntil, tempDir, testCatalog, testKafka, testRegistry } from '../support/factories.js'

const kafka = testKafka()
const registry = testRegistry()
const catalog = await testCatalog(kafka)

describe('churn publish', () => {
  it('reports each bad line with its number and reason, publishes every valid line, and exits non-zero', async () => {
    const now = new Date(Date.now() - 60_000).toISOString()
    const lines = [
      JSON.stringify({ customer_id: 'c-1', event_time: now, type: 'usage', payload: { sessions: 1, minutes: 2, data_mb: 3 } }),
      '{"customer_id": "c-2", "event_time": ',
      JSON.stringify({ customer_id: 'c-3', event_time: now, type: 'usage', payload: { sessions: 1 } }),
      '',
      JSON.stringify({ customer_id: 'c-4', event_time: now, type: 'teleport', payload: {} }),
      JSON.stringify({ customer_id: 'c-5', event_time: now, type: 'payment', payload: { amount: -1, status: 'paid' } }),
      JSON.stringify({ customer_id: 'c-6', event_time: now, type: 'payment', payload: { amount: 20, status: 'failed', method: 'credit_card' } }),
    ]
    const file = join(tempDir('publish'), 'events.jsonl')
    writeFileSync(file, lines.join('\n'))
    const result = spawnSync(process.execPath, [join(projectRoot, 'bin', 'churn.js'), 'publish', '--file', file], {
      encoding: 'utf8',
      env: { ...process.env, TOPIC_PREFIX: catalog.prefix },
    })
    expect(result.status).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^line 2: invalid JSON: /u),
      expect.stringMatching(/^line 3: payload\.minutes: .*; payload\.data_mb: /u),
      expect.stringMatching(/^line 5: type: expected one of signup, plan_change, usage, payment, support_ticket, cancellation$/u),
      expect.stringMatching(/^line 6: payload\.amount: Too small: expected number to be >=0$/u),
    ])
    expect(result.stdout).toMatch(/published 2 events; 4 invalid line\(s\) of 7/u)

    const codec = new CustomerEventCodec(registry, catalog.customerEvents)
    const records = await consumeUntil(kafka, catalog.customerEvents.name, (read) => read.length >= 2)
    const decoded = await Promise.all(records.map((record) => codec.decode(record.value)))
    expect(decoded.map((outcome) => (outcome.ok ? outcome.value.customer_id : outcome.message)).sort()).toEqual(['c-1', 'c-6'])
  })
})
