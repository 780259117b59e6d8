import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../core/config.js'
import { PrometheusService } from '../../stack/prometheus-service.js'

const prometheusDir = join(projectRoot, 'stack', 'prometheus')
const ymlIn = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.yml')).sort().map((name) => join(dir, name))
const ruleFiles = ymlIn(join(prometheusDir, 'rules'))
const testFiles = ymlIn(join(prometheusDir, 'tests'))

/** Runs promtool; a missing promtool fails with what to do about it. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 })
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('promtool is not on PATH: `node bin/churn.js stack up` installs it (Debian package prometheus), as `npm test` does before the tests; or install Prometheus\'s promtool yourself')
  }
  if (result.error !== undefined) throw result.error
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

function expectSuccess(outcome: { status: number | null; output: string }): void {
  // The output is the message: promtool names the rule, the time and the expected and actual values.
  expect(outcome.status, outcome.output).toBe(0)
}

describe('prometheus rules', () => {
  it('has rule files and promtool unit tests for them', () => {
    expect(ruleFiles.map((file) => file.slice(prometheusDir.length + 1))).toEqual(expect.arrayContaining(['rules/churn-alerts.yml', 'rules/churn-recording.yml']))
    expect(testFiles.length).toBeGreaterThan(0)
  })

  it('passes promtool check rules', () => {
    expectSuccess(promtool('check', 'rules', ...ruleFiles))
  })

  it('passes its promtool unit tests', () => {
    expectSuccess(promtool('test', 'rules', ...testFiles))
  }, 60_000)

  it('tests every alert both firing and quiet', () => {
    const alerts = [...readFileSync(join(prometheusDir, 'rules', 'churn-alerts.yml'), 'utf8').matchAll(/^\s*- alert: (\w+)$/gmu)].map((match) => match[1])
    const tests = testFiles.map((file) => readFileSync(file, 'utf8')).join('\n')
    const firing = new Set([...tests.matchAll(/alertname: (\w+)\n\s+exp_alerts:\n\s+- exp_labels:/gu)].map((match) => match[1]))
    const quiet = new Set([...tests.matchAll(/alertname: (\w+)\n\s+exp_alerts: \[\]/gu)].map((match) => match[1]))
    expect(alerts.length).toBeGreaterThanOrEqual(7)
    expect(alerts.filter((alert) => !firing.has(alert)), 'alerts without a firing case').toEqual([])
    expect(alerts.filter((alert) => !quiet.has(alert)), 'alerts without a quiet case').toEqual([])
  })
})

describe('prometheus configuration', () => {
  const stackDir = mkdtempSync(join(tmpdir(), 'churn-prometheus-'))
  afterAll(() => { rmSync(stackDir, { recursive: true, force: true }) })

  it('renders a native configuration that loads the rules, as promtool checks it', async () => {
    const service = new PrometheusService(stackDir, { host: '127.0.0.1', port: 19090, url: 'http://127.0.0.1:19090', targetsDir: join(stackDir, 'prometheus', 'targets') }, 19464)
    await service.provision()
    const rendered = readFileSync(service.configFile, 'utf8')
    expect(rendered).not.toMatch(/\$\{[A-Z_]+\}/u)
    expect(readdirSync(service.rulesDir).sort()).toEqual(ruleFiles.map((file) => file.slice(file.lastIndexOf('/') + 1)))
    const checked = promtool('check', 'config', service.configFile)
    expectSuccess(checked)
    expect(checked.output).toContain(`SUCCESS: ${ruleFiles.length} rule files found`)
  })

  it('gives docker compose the same rules and evaluation interval', () => {
    const docker = readFileSync(join(prometheusDir, 'prometheus.docker.yml'), 'utf8')
    const native = readFileSync(join(prometheusDir, 'prometheus.yml'), 'utf8')
    expectSuccess(promtool('check', 'config', join(prometheusDir, 'prometheus.docker.yml')))
    expect(docker).toContain('- /etc/prometheus/rules/*.yml')
    const interval = /evaluation_interval: (\S+)/u
    expect(interval.exec(docker)?.[1]).toBe(interval.exec(native)?.[1])
    expect(readFileSync(join(projectRoot, 'docker-compose.yml'), 'utf8')).toContain('- ./stack/prometheus/rules:/etc/prometheus/rules:ro')
  })
})
