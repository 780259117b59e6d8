import { describe, expect, it } from 'vitest'
import { Lifecycle } from '../../core/lifecycle.js'
import { createLogger } from '../../core/logger.js'

const logger = createLogger({ level: 'silent' })

describe('Lifecycle', () => {
  it('runs shutdown steps once, last registered first', async () => {
    const order: string[] = []
    const lifecycle = new Lifecycle({ logger })
    lifecycle.onShutdown('close clients', () => { order.push('clients') })
    lifecycle.onShutdown('commit', () => { order.push('commit') })
    lifecycle.onShutdown('stop fetching', () => { order.push('fetching') })
    lifecycle.markRunning()
    expect(lifecycle.state).toBe('running')
    const first = lifecycle.shutdown()
    expect(lifecycle.shutdown()).toBe(first)
    await first
    await lifecycle[Symbol.asyncDispose]()
    expect(order).toEqual(['fetching', 'commit', 'clients'])
    expect(lifecycle.state).toBe('stopped')
  })

  it('runs every step even when one fails, then reports the failure', async () => {
    const ran: string[] = []
    const lifecycle = new Lifecycle({ logger })
    lifecycle.onShutdown('a', () => { ran.push('a') })
    lifecycle.onShutdown('b', () => Promise.reject(new Error('boom')))
    lifecycle.onShutdown('c', () => { ran.push('c') })
    await expect(lifecycle.shutdown()).rejects.toThrow(/b: boom/u)
    expect(ran).toEqual(['c', 'a'])
  })

  it('gives up after the timeout', async () => {
    const lifecycle = new Lifecycle({ logger, timeoutMs: 50 })
    lifecycle.onShutdown('stuck', () => new Promise(() => undefined))
    await expect(lifecycle.shutdown()).rejects.toMatchObject({ code: 'SHUTDOWN_TIMEOUT' })
    expect(lifecycle.state).toBe('stopped')
  })

  it('shuts down on a signal and removes its handlers afterwards', async () => {
    const before = process.listenerCount('SIGUSR2')
    let exitCode: number | undefined
    const done = new Promise<void>((resolvePromise) => {
      const lifecycle = new Lifecycle({
        logger,
        signals: ['SIGUSR2'],
        onSignalShutdown: (code) => {
          exitCode = code
          resolvePromise()
        },
      })
      lifecycle.onShutdown('step', () => undefined)
      lifecycle.installSignalHandlers()
      expect(process.listenerCount('SIGUSR2')).toBe(before + 1)
    })
    process.kill(process.pid, 'SIGUSR2')
    await done
    expect(exitCode).toBe(0)
    expect(process.listenerCount('SIGUSR2')).toBe(before)
  })

  it('refuses new steps once draining', async () => {
    const lifecycle = new Lifecycle({ logger })
    await lifecycle.shutdown()
    expect(() => { lifecycle.onShutdown('late', () => undefined) }).toThrow(/stopped/u)
  })
})
