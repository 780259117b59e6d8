import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Gauge } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { config } from '../../core/config.js'
import { createMetricsRegistry, startMetricsServer } from '../../core/metrics.js'
import { stackSettings } from '../../stack/settings.js'
import { pollUntil, uniqueName } from '../support/factories.js'

describe('prometheus', () => {
  it('scrapes a /metrics endpoint and serves the series over its HTTP API', async () => {
    const job = uniqueName('t-scrape')
    const registry = createMetricsRegistry()
    const gauge = new Gauge({ name: 'churn_test_scrape_value', help: 'A value a test sets.', labelNames: ['job_name'], registers: [registry] })
    gauge.set({ job_name: job }, 42)
    const server = await startMetricsServer(registry, { port: 0 })
    const targetFile = join(stackSettings(config()).prometheus.targetsDir, `${job}.json`)
    writeFileSync(targetFile, JSON.stringify([{ targets: [`127.0.0.1:${server.port}`], labels: { test_job: job } }]))
    afterAll(async () => {
      rmSync(targetFile, { force: true })
      await server.close()
    })

    const query = `churn_test_scrape_value{test_job="${job}"}`
    const result = await pollUntil(
      async () => {
        const response = await fetch(`${config().PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(query)}`)
        return (await response.json()) as { status: string; data: { result: { value: [number, string] }[] } }
      },
      (body) => body.data.result.length > 0,
      45_000,
      500,
    )
    expect(result.status).toBe('success')
    expect(result.data.result[0]?.value[1]).toBe('42')
  })
})
