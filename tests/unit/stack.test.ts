import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { nextOffset } from '../../core/kafka.js'
import { parseConfig } from '../../core/config.js'
import { kafkaServerProperties } from '../../stack/kafka-config.js'
import { isAlive, runningPid, stopProcess } from '../../stack/processes.js'
import { waitUntil } from '../../stack/probes.js'
import { stackSettings } from '../../stack/settings.js'

describe('stack settings', () => {
  it('derives every listen address from the client variables', () => {
    const settings = stackSettings(parseConfig({
      KAFKA_BROKERS: '127.0.0.1:19092',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
      REDIS_URL: 'redis://127.0.0.1:16379',
      PROMETHEUS_URL: 'http://127.0.0.1:19090',
      STACK_DIR: '/tmp/churn-stack',
    }))
    expect(settings.kafka).toMatchObject({ host: '127.0.0.1', port: 19092, controllerPort: 9093 })
    expect(settings.registry).toMatchObject({ host: '127.0.0.1', port: 18081 })
    expect(settings.redis).toMatchObject({ port: 16379 })
    expect(settings.prometheus).toMatchObject({ port: 19090, targetsDir: '/tmp/churn-stack/prometheus/targets' })
  })

  it('configures single-node KRaft so transactions and groups work', () => {
    const properties = kafkaServerProperties({ host: '127.0.0.1', port: 9092, controllerPort: 9093, dataDir: '/data' })
    for (const line of ['offsets.topic.replication.factor=1', 'transaction.state.log.replication.factor=1', 'transaction.state.log.min.isr=1', 'process.roles=broker,controller', 'listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093']) {
      expect(properties.split('\n')).toContain(line)
    }
  })
})

describe('processes', () => {
  it('recognises its own process by folder and stops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proc-'))
    const child = spawn('sleep', ['30'], { cwd: dir, detached: true, stdio: 'ignore' })
    const pid = child.pid ?? 0
    const pidFile = join(dir, 'sleep.pid')
    writeFileSync(pidFile, String(pid))
    expect(runningPid(pidFile, dir)).toBe(pid)
    expect(runningPid(pidFile, '/somewhere/else')).toBeUndefined()
    expect(await stopProcess(pid, 5_000)).toBe('terminated')
    const exited = await waitUntil(() => Promise.resolve(!isAlive(pid)), { timeoutMs: 5_000, intervalMs: 20 })
    expect(exited.ready).toBe(true)
  })

  it('reports why waiting stopped early', async () => {
    const outcome = await waitUntil(() => Promise.resolve(false), { timeoutMs: 10_000, intervalMs: 10, abortIf: () => 'the process exited' })
    expect(outcome).toMatchObject({ ready: false, reason: 'the process exited' })
  })
})

describe('nextOffset', () => {
  it('commits the position after the consumed record, beyond 2^53 too', () => {
    expect(nextOffset('0')).toBe('1')
    expect(nextOffset('9007199254740993')).toBe('9007199254740994')
  })
})
