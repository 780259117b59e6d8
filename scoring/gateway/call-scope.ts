import { status, type Deadline } from '@grpc/grpc-js'
import { GatewayError } from './status.js'

/** The time a call has: its deadline, and whether the client is still waiting. */
export class CallScope {
  readonly #deadline: number
  readonly #cancelled: () => boolean

  constructor(deadline: Deadline, cancelled: () => boolean = () => false) {
    this.#deadline = deadline instanceof Date ? deadline.getTime() : deadline
    this.#cancelled = cancelled
  }

  /** Milliseconds left before the deadline; Infinity when the call has none. */
  remainingMs(): number {
    return this.#deadline - Date.now()
  }

  get expired(): boolean {
    return this.remainingMs() <= 0
  }

  /** Throws when the answer can no longer reach anyone: the deadline passed or the client cancelled. */
  check(): void {
    if (this.expired) throw new GatewayError(status.DEADLINE_EXCEEDED, 'deadline exceeded before the call completed')
    if (this.#cancelled()) throw new GatewayError(status.CANCELLED, 'cancelled by the client')
  }

  /**
   * Races a step against the deadline and `timeoutMs`; `onTimeout` makes the error when `timeoutMs`
   * runs out first. The step itself is not stopped, only no longer waited for.
   */
  async within<T>(step: Promise<T>, timeoutMs = Number.POSITIVE_INFINITY, onTimeout?: () => Error): Promise<T> {
    this.check()
    const remaining = this.remainingMs()
    const limit = Math.min(remaining, timeoutMs)
    if (!Number.isFinite(limit)) return step
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(limit === remaining || onTimeout === undefined ? new GatewayError(status.DEADLINE_EXCEEDED, 'deadline exceeded before the call completed') : onTimeout())
      }, Math.max(0, limit))
    })
    try {
      return await Promise.race([step, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}
