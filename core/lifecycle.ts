import type { Logger } from './logger.js'
import { ChurnError, ErrorCodes, errorMessage } from './errors.js'

export type ServiceState = 'starting' | 'running' | 'draining' | 'stopped'

export interface LifecycleOptions {
  logger: Logger
  /** Upper bound on the whole shutdown. @default 15000 */
  timeoutMs?: number
  /** Signals that start a graceful shutdown. @default ['SIGTERM', 'SIGINT'] */
  signals?: NodeJS.Signals[]
  /** Called once shutdown has finished (or timed out) after a signal; the CLI exits the process here. */
  onSignalShutdown?: (exitCode: number) => void
}

interface Step {
  name: string
  run: () => Promise<void> | void
}

/**
 * Orderly shutdown of a process: a signal (or `shutdown()`) stops fetching, lets in-flight work
 * finish and commit, then closes clients. Steps run in reverse order of registration, so a
 * consumer registered after the clients it uses is stopped before they are closed. Every step
 * runs even when an earlier one throws; the whole is bounded by a timeout.
 */
export class Lifecycle {
  readonly #logger: Logger
  readonly #timeoutMs: number
  readonly #signals: NodeJS.Signals[]
  readonly #onSignalShutdown: ((exitCode: number) => void) | undefined
  readonly #steps: Step[] = []
  #state: ServiceState = 'starting'
  #closing: Promise<void> | undefined
  #handler: ((signal: NodeJS.Signals) => void) | undefined

  constructor(options: LifecycleOptions) {
    this.#logger = options.logger
    this.#timeoutMs = options.timeoutMs ?? 15_000
    this.#signals = options.signals ?? ['SIGTERM', 'SIGINT']
    this.#onSignalShutdown = options.onSignalShutdown
  }

  get state(): ServiceState {
    return this.#state
  }

  /** Registers a cleanup step; the last one registered runs first. */
  onShutdown(name: string, run: () => Promise<void> | void): void {
    if (this.#state === 'draining' || this.#state === 'stopped') {
      throw new ChurnError(ErrorCodes.CLOSED, `cannot register shutdown step "${name}": the process is ${this.#state}`)
    }
    this.#steps.push({ name, run })
  }

  markRunning(): void {
    if (this.#state === 'starting') this.#state = 'running'
  }

  /** Installs SIGTERM/SIGINT handlers; a second signal while draining exits at once. */
  installSignalHandlers(): void {
    if (this.#handler !== undefined) return
    const handler = (signal: NodeJS.Signals): void => {
      if (this.#closing !== undefined) {
        this.#logger.warn({ signal }, 'second signal while shutting down: exiting now')
        this.#onSignalShutdown?.(130)
        return
      }
      this.#logger.info({ signal }, 'shutting down')
      this.shutdown(signal).then(
        () => this.#onSignalShutdown?.(0),
        (error: unknown) => {
          this.#logger.error({ err: error }, 'shutdown did not complete cleanly')
          this.#onSignalShutdown?.(1)
        },
      )
    }
    this.#handler = handler
    for (const signal of this.#signals) process.on(signal, handler)
  }

  #removeSignalHandlers(): void {
    if (this.#handler === undefined) return
    for (const signal of this.#signals) process.off(signal, this.#handler)
    this.#handler = undefined
  }

  /** Runs every step once; later calls return the same promise. Rejects if a step failed or time ran out. */
  shutdown(reason = 'shutdown'): Promise<void> {
    this.#closing ??= this.#runSteps(reason)
    return this.#closing
  }

  async #runSteps(reason: string): Promise<void> {
    this.#state = 'draining'
    const failures: string[] = []
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'timeout'>((resolvePromise) => {
      timer = setTimeout(() => { resolvePromise('timeout') }, this.#timeoutMs)
      timer.unref()
    })
    const steps = async (): Promise<'done'> => {
      for (const step of [...this.#steps].reverse()) {
        try {
          await step.run()
          this.#logger.debug({ step: step.name }, 'shutdown step done')
        } catch (error) {
          failures.push(`${step.name}: ${errorMessage(error)}`)
          this.#logger.error({ step: step.name, err: error }, 'shutdown step failed')
        }
      }
      return 'done'
    }
    try {
      const outcome = await Promise.race([steps(), deadline])
      if (outcome === 'timeout') {
        throw new ChurnError(ErrorCodes.SHUTDOWN_TIMEOUT, `shutdown (${reason}) did not finish within ${this.#timeoutMs} ms`)
      }
      if (failures.length > 0) {
        throw new ChurnError(ErrorCodes.CLOSED, `shutdown (${reason}) finished with errors: ${failures.join('; ')}`)
      }
    } finally {
      clearTimeout(timer)
      this.#removeSignalHandlers()
      this.#state = 'stopped'
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown('dispose')
  }
}
