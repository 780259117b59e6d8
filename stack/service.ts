import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { ChurnError, ErrorCodes } from '../core/errors.js'
import { runningPid, startDetached, stopProcess, tail } from './processes.js'
import { tcpOpen, waitUntil } from './probes.js'
import type { Endpoint } from './settings.js'

export type ServiceState = 'healthy' | 'unhealthy' | 'stopped' | 'external'

export interface ServiceStatus {
  name: string
  address: string
  state: ServiceState
  pid?: number
  log: string
  detail?: string
}

/** A program on PATH that a service needs, and the Debian package that provides it. */
export interface Requirement {
  tool: string
  debianPackage: string
}

export interface LaunchSpec {
  command: string
  args: string[]
  env?: NodeJS.ProcessEnv
}

/**
 * One locally managed service: provisioned from a package registry, started detached with its
 * state, pid and log under `<stackDir>/<name>`, probed for readiness, stopped by pid.
 */
export abstract class NativeService {
  abstract readonly name: string
  readonly host: string
  readonly port: number
  /** How long `up` waits for readiness. */
  readonly readyTimeoutMs: number = 60_000

  constructor(protected readonly stackDir: string, endpoint: Endpoint) {
    this.host = endpoint.host
    this.port = endpoint.port
  }

  get dir(): string {
    return join(this.stackDir, this.name)
  }

  get logFile(): string {
    return join(this.dir, `${this.name}.log`)
  }

  get pidFile(): string {
    return join(this.dir, `${this.name}.pid`)
  }

  get address(): string {
    return `${this.host}:${this.port}`
  }

  /** Programs that must be on PATH (installed by `up` where the machine allows). */
  requirements(): Requirement[] {
    return []
  }

  /** Downloads, builds and configures; cheap when already done. */
  abstract provision(progress: (line: string) => void): Promise<void>

  protected abstract launch(): LaunchSpec

  /** Whether the service answers its protocol (not just a port). */
  abstract healthy(): Promise<boolean>

  /** Work done once after the first healthy probe (e.g. creating coordinator topics). */
  protected warmUp(): Promise<void> {
    return Promise.resolve()
  }

  pid(): number | undefined {
    return runningPid(this.pidFile, this.dir)
  }

  async status(): Promise<ServiceStatus> {
    const pid = this.pid()
    const base = { name: this.name, address: this.address, log: this.logFile }
    if (pid === undefined) {
      if (await tcpOpen(this.host, this.port)) {
        const healthy = await this.healthy()
        return { ...base, state: healthy ? 'external' : 'unhealthy', detail: 'not started by this stack' }
      }
      return { ...base, state: 'stopped' }
    }
    return { ...base, pid, state: (await this.healthy()) ? 'healthy' : 'unhealthy' }
  }

  /** Starts the service unless it already runs; resolves once it is ready. */
  async up(progress: (line: string) => void): Promise<{ elapsedMs: number; started: boolean }> {
    const started = Date.now()
    const current = await this.status()
    if (current.state === 'healthy' || current.state === 'external') {
      return { elapsedMs: Date.now() - started, started: false }
    }
    if (current.state === 'unhealthy' && current.pid === undefined) {
      throw new ChurnError(ErrorCodes.STACK_SERVICE_FAILED, `${this.name}: port ${this.address} is taken by another program that does not answer as ${this.name}; free it or set another port`)
    }
    mkdirSync(this.dir, { recursive: true })
    if (current.pid === undefined) {
      await this.provision(progress)
      const spec = this.launch()
      startDetached({ ...spec, cwd: this.dir, logFile: this.logFile, pidFile: this.pidFile })
    }
    const outcome = await waitUntil(() => this.healthy(), {
      timeoutMs: this.readyTimeoutMs,
      abortIf: () => (this.pid() === undefined ? 'the process exited' : undefined),
    })
    if (!outcome.ready) {
      throw new ChurnError(
        ErrorCodes.STACK_SERVICE_FAILED,
        `${this.name} did not become ready (${outcome.reason}); log: ${this.logFile}\n${tail(this.logFile)}`,
      )
    }
    await this.warmUp()
    return { elapsedMs: Date.now() - started, started: true }
  }

  /** Stops the process this stack started; leaves anything else alone. */
  async down(): Promise<'stopped' | 'not-running'> {
    const pid = this.pid()
    if (pid === undefined) return 'not-running'
    await stopProcess(pid, 20_000)
    return 'stopped'
  }
}
