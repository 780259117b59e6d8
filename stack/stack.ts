import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../core/config.js'
import { ChurnError, ErrorCodes, errorMessage } from '../core/errors.js'
import { composeDown, composeStatus, composeUp, dockerEngineAnswers } from './docker.js'
import { findJava } from './java.js'
import { KafkaService } from './kafka-service.js'
import { PrometheusService } from './prometheus-service.js'
import { aptInstall, commandExists, isDebian, isRoot } from './provision.js'
import { RedisService } from './redis-service.js'
import { RegistryService } from './registry-service.js'
import type { NativeService, ServiceStatus } from './service.js'
import { stackSettings, type StackSettings } from './settings.js'

export type StackMode = 'native' | 'docker'

export interface ServiceReport {
  name: string
  address: string
  started: boolean
  elapsedMs: number
}

export interface UpReport {
  mode: StackMode
  services: ServiceReport[]
  elapsedMs: number
}

/**
 * The local stack: Kafka (KRaft), a Confluent-compatible schema registry, Redis and Prometheus,
 * run natively from package registries, or by Docker Compose when a Docker engine answers.
 * ClickHouse is the embedded engine unless CLICKHOUSE_URL names a server.
 */
export class Stack {
  readonly settings: StackSettings
  readonly kafka: KafkaService
  readonly registry: RegistryService
  readonly redis: RedisService
  readonly prometheus: PrometheusService
  readonly #progress: (line: string) => void
  readonly #mode: Config['STACK_MODE']

  constructor(config: Config, progress: (line: string) => void = () => undefined) {
    this.settings = stackSettings(config)
    const dir = this.settings.stackDir
    this.kafka = new KafkaService(dir, this.settings.kafka)
    this.registry = new RegistryService(dir, this.settings.registry, this.settings.kafka.brokers)
    this.redis = new RedisService(dir, this.settings.redis)
    this.prometheus = new PrometheusService(dir, this.settings.prometheus, this.settings.metricsPort)
    this.#progress = progress
    this.#mode = config.STACK_MODE
  }

  get services(): NativeService[] {
    return [this.kafka, this.registry, this.redis, this.prometheus]
  }

  mode(): StackMode {
    if (this.#mode === 'native' || this.#mode === 'docker') return this.#mode
    return dockerEngineAnswers() ? 'docker' : 'native'
  }

  async up(): Promise<UpReport> {
    const started = Date.now()
    if (this.mode() === 'docker') {
      this.#progress('docker engine found: starting docker-compose.yml')
      if (this.#mode === 'auto') this.#progress('note: export STACK_MODE=docker so clients default to the Confluent registry URL')
      composeUp()
      return { mode: 'docker', services: [], elapsedMs: Date.now() - started }
    }
    mkdirSync(this.settings.stackDir, { recursive: true })
    await this.#installMissingTools()
    const report = async (service: NativeService): Promise<ServiceReport> => {
      const outcome = await service.up(this.#progress)
      this.#progress(`${service.name}: ${outcome.started ? 'ready' : 'already running'} at ${service.address}${outcome.started ? ` (${(outcome.elapsedMs / 1000).toFixed(1)} s)` : ''}`)
      return { name: service.name, address: service.address, started: outcome.started, elapsedMs: outcome.elapsedMs }
    }
    // The registry keeps its schemas in Kafka, so it starts once Kafka is ready; the rest start alongside.
    const results = await Promise.allSettled([
      (async () => [await report(this.kafka), await report(this.registry)])(),
      (async () => [await report(this.redis)])(),
      (async () => [await report(this.prometheus)])(),
    ])
    const failures = results.filter((result) => result.status === 'rejected').map((result) => errorMessage(result.reason))
    if (failures.length > 0) throw new ChurnError(ErrorCodes.STACK_SERVICE_FAILED, failures.join('\n'))
    const services = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []))
    return { mode: 'native', services, elapsedMs: Date.now() - started }
  }

  /** Stops only the services this stack started, in reverse dependency order. */
  async down(): Promise<{ name: string; outcome: string }[]> {
    if (this.mode() === 'docker') {
      composeDown()
      return [{ name: 'docker compose', outcome: 'stopped' }]
    }
    const outcomes: { name: string; outcome: string }[] = []
    for (const service of [this.prometheus, this.redis, this.registry, this.kafka]) {
      outcomes.push({ name: service.name, outcome: await service.down() })
    }
    return outcomes
  }

  async status(): Promise<ServiceStatus[]> {
    if (this.mode() === 'docker') return composeStatus()
    return Promise.all(this.services.map((service) => service.status()))
  }

  /**
   * Installs what the native path needs from Debian's packages, or says exactly what is missing
   * when this machine cannot install it.
   */
  async #installMissingTools(): Promise<void> {
    const packages = new Set<string>()
    const missing: string[] = []
    const canInstall = process.platform === 'linux' && isDebian() && isRoot()
    const need = (what: string, debianPackage: string): void => {
      if (canInstall) packages.add(debianPackage)
      else missing.push(`${what} (Debian package ${debianPackage})`)
    }
    for (const service of this.services) {
      for (const requirement of service.requirements()) {
        if (!commandExists(requirement.tool)) need(requirement.tool, requirement.debianPackage)
      }
    }
    if (findJava(17) === undefined) need('Java 17 or newer', 'openjdk-17-jre-headless')
    if (missing.length > 0) {
      const why = [process.platform !== 'linux' ? 'not Linux' : '', !isDebian() ? 'not Debian' : '', !isRoot() ? 'not root' : '']
        .filter((reason) => reason !== '')
        .join(', ')
      throw new ChurnError(
        ErrorCodes.STACK_UNSUPPORTED,
        `The native stack cannot start on this machine (${why}). Missing: ${missing.join('; ')}.\n` +
          'Install those yourself, or install Docker (the stack then uses docker-compose.yml; STACK_MODE=docker forces it).',
      )
    }
    if (packages.size > 0) {
      const logFile = join(this.settings.stackDir, 'apt.log')
      this.#progress(`installing from Debian packages: ${[...packages].join(', ')} (log: ${logFile})`)
      await aptInstall([...packages], logFile)
    }
  }
}
