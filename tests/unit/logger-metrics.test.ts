import { Writable } from 'node:stream'
import { Counter } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../core/logger.js'
import { createMetricsRegistry, startMetricsServer } from '../../core/metrics.js'

describe('createLogger', () => {
  it('writes JSON lines with secrets redacted', () => {
    const lines: string[] = []
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString())
        callback()
      },
    })
    const logger = createLogger({ name: 'test', destination })
    logger.info({ password: 'hunter2', client: { apiKey: 'k-123', host: 'db' } }, 'connected')
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>
    expect(entry['msg']).toBe('connected')
    expect(entry['level']).toBe('info')
    expect(entry['name']).toBe('test')
    expect(entry['password']).toBe('[redacted]')
    expect(entry['client']).toEqual({ apiKey: '[redacted]', host: 'db' })
    expect(lines.join('')).not.toMatch(/hunter2|k-123/u)
  })
})

describe('metrics server', () => {
  it('serves the registry in the Prometheus text format and closes twice safely', async () => {
    const registry = createMetricsRegistry({ role: 'test' })
    new Counter({ name: 'churn_test_events_total', help: 'Events seen by a test.', registers: [registry] }).inc(3)
    const server = await startMetricsServer(registry, { port: 0 })
    const response = await fetch(server.url)
    expect(response.headers.get('content-type')).toMatch(/text\/plain/u)
    const body = await response.text()
    expect(body).toMatch(/^churn_test_events_total\{role="test"\} 3$/mu)
    expect(body).toMatch(/churn_process_cpu_user_seconds_total/u)
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200)
    expect((await fetch(`http://127.0.0.1:${server.port}/nope`)).status).toBe(404)
    await server.close()
    await server[Symbol.asyncDispose]()
    await expect(fetch(server.url)).rejects.toThrow()
  })
})
