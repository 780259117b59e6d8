import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../core/config.js'
import { ChurnError, ErrorCodes, errorMessage } from '../core/errors.js'
import { httpOk } from './probes.js'
import { NativeService, type LaunchSpec, type Requirement } from './service.js'
import type { StackSettings } from './settings.js'

const sourceDir = join(projectRoot, 'stack', 'prometheus')

/**
 * Prometheus from Debian's package. Scrape targets are files in `<stackDir>/prometheus/targets`
 * (file-based discovery), so processes and tests add and remove themselves without a reload.
 * Recording and alerting rules are copied from `stack/prometheus/rules`.
 */
export class PrometheusService extends NativeService {
  readonly name = 'prometheus'
  /** Digest of the configuration and rules the process this object launched started with. */
  #launched: string | undefined

  constructor(stackDir: string, private readonly settings: StackSettings['prometheus'], private readonly metricsPort: number) {
    super(stackDir, settings)
  }

  get rulesDir(): string {
    return join(this.dir, 'rules')
  }

  override requirements(): Requirement[] {
    return [
      { tool: 'prometheus', debianPackage: 'prometheus' },
      { tool: 'promtool', debianPackage: 'prometheus' },
    ]
  }

  provision(): Promise<void> {
    mkdirSync(join(this.dir, 'data'), { recursive: true })
    mkdirSync(this.settings.targetsDir, { recursive: true })
    this.#launched = this.#writeConfig()
    return Promise.resolve()
  }

  /**
   * Starts Prometheus, or brings one this stack started earlier up to date: it runs the configuration and
   * rules it last loaded until it reloads them. `loaded` records the digest of what it loaded.
   */
  override async up(progress: (line: string) => void): Promise<{ elapsedMs: number; started: boolean }> {
    const outcome = await super.up(progress)
    if (this.pid() === undefined) return outcome
    const digest = this.#writeConfig()
    if (!(outcome.started && this.#launched === digest) && this.#loaded() !== digest) {
      await this.#reload()
      progress('prometheus: configuration or rules changed; reloaded')
    }
    writeFileSync(this.#loadedFile, `${digest}\n`)
    return outcome
  }

  get configFile(): string {
    return join(this.dir, 'prometheus.yml')
  }

  get #loadedFile(): string {
    return join(this.dir, 'loaded')
  }

  #loaded(): string | undefined {
    return existsSync(this.#loadedFile) ? readFileSync(this.#loadedFile, 'utf8').trim() : undefined
  }

  /** Renders the configuration and mirrors the rules; returns a digest of both. */
  #writeConfig(): string {
    mkdirSync(this.rulesDir, { recursive: true })
    const rules = readdirSync(join(sourceDir, 'rules')).filter((name) => name.endsWith('.yml')).sort()
    for (const name of readdirSync(this.rulesDir)) {
      if (!rules.includes(name)) rmSync(join(this.rulesDir, name), { force: true })
    }
    const hash = createHash('sha256')
    for (const name of rules) {
      const text = readFileSync(join(sourceDir, 'rules', name), 'utf8')
      writeFileSync(join(this.rulesDir, name), text)
      hash.update(`${name}\0${text}\0`)
    }
    const rendered = readFileSync(join(sourceDir, 'prometheus.yml'), 'utf8')
      .replaceAll('${TARGETS_DIR}', this.settings.targetsDir)
      .replaceAll('${RULES_DIR}', this.rulesDir)
      .replaceAll('${CHURN_METRICS_TARGET}', `127.0.0.1:${this.metricsPort}`)
      .replaceAll('${PROMETHEUS_ADDRESS}', this.address)
    writeFileSync(this.configFile, rendered)
    return hash.update(rendered).digest('hex')
  }

  async #reload(): Promise<void> {
    let failure: string | undefined
    try {
      const response = await fetch(`${this.settings.url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(30_000) })
      const body = await response.text()
      if (!response.ok) failure = `HTTP ${response.status}: ${body.trim()}`
    } catch (error) {
      failure = errorMessage(error)
    }
    if (failure !== undefined) {
      // Prometheus keeps running its previous configuration; `loaded` still names that one, so the next `up` tries again.
      throw new ChurnError(ErrorCodes.STACK_SERVICE_FAILED, `prometheus did not reload ${this.configFile} (${failure}); \`promtool check config ${this.configFile}\` says why; log: ${this.logFile}`)
    }
  }

  protected launch(): LaunchSpec {
    return {
      command: 'prometheus',
      args: [
        `--config.file=${this.configFile}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=${this.address}`,
        '--web.enable-lifecycle',
        '--storage.tsdb.retention.time=3d',
      ],
    }
  }

  healthy(): Promise<boolean> {
    return httpOk(`${this.settings.url}/-/ready`)
  }
}
