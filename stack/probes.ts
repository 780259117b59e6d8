import { connect } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'

/** True when something accepts TCP connections at host:port. */
export function tcpOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port })
    const done = (open: boolean): void => {
      socket.destroy()
      resolvePromise(open)
    }
    socket.setTimeout(timeoutMs, () => { done(false) })
    socket.once('connect', () => { done(true) })
    socket.once('error', () => { done(false) })
  })
}

/** True when `url` answers with a 2xx status. */
export async function httpOk(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    await response.arrayBuffer()
    return response.ok
  } catch {
    return false
  }
}

export interface WaitOptions {
  timeoutMs: number
  /** Pause between two probes. @default 250 */
  intervalMs?: number
  /** Checked between probes: a reason to give up early (the process died, say). */
  abortIf?: () => string | undefined
}

export type WaitOutcome = { ready: true; elapsedMs: number } | { ready: false; elapsedMs: number; reason: string }

/** Probes until ready, the deadline passes, or `abortIf` gives a reason to stop. */
export async function waitUntil(probe: () => Promise<boolean>, options: WaitOptions): Promise<WaitOutcome> {
  const started = Date.now()
  const deadline = started + options.timeoutMs
  for (;;) {
    if (await probe()) return { ready: true, elapsedMs: Date.now() - started }
    const abort = options.abortIf?.()
    if (abort !== undefined) return { ready: false, elapsedMs: Date.now() - started, reason: abort }
    if (Date.now() >= deadline) {
      return { ready: false, elapsedMs: Date.now() - started, reason: `not ready after ${options.timeoutMs} ms` }
    }
    await delay(options.intervalMs ?? 250)
  }
}
