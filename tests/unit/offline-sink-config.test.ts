import { describe, expect, it } from 'vitest'
import { offlineSinkRole, resolveOfflineSinkOptions } from '../../consumers/offline-sink/index.js'
import type { RoleContext } from '../../consumers/runtime/context.js'
import { parseConfig } from '../../core/config.js'
import { ChurnError } from '../../core/errors.js'

function configError(env: Record<string, string>): ChurnError {
  try {
    parseConfig(env)
  } catch (error) {
    if (error instanceof ChurnError) return error
    throw error
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`)
}

/** A context with only a configuration: anything else a role touched would throw. */
function contextWith(env: Record<string, string>): RoleContext {
  const config = parseConfig(env)
  return new Proxy({ config } as RoleContext, {
    get(target, property) {
      if (property === 'config') return target.config
      throw new Error(`the role used context.${String(property)} before checking its options`)
    },
  })
}

describe('offline sink options from the environment', () => {
  it('takes each OFFLINE_SINK_* variable that is set, and the defaults for the others', () => {
    const options = resolveOfflineSinkOptions(parseConfig({ OFFLINE_SINK_BATCH_ROWS: '500', OFFLINE_SINK_BATCH_DELAY_MS: '250', OFFLINE_SINK_MAX_PENDING_ROWS: '2000' }))
    expect(options).toMatchObject({ batchRows: 500, batchDelayMs: 250, maxPendingRows: 2_000, initialRetryMs: 100, maxRetryMs: 10_000 })
    expect(resolveOfflineSinkOptions(parseConfig({ OFFLINE_SINK_INITIAL_RETRY_MS: '50', OFFLINE_SINK_MAX_RETRY_MS: '5000' }))).toMatchObject({ batchRows: 50_000, maxPendingRows: 100_000, initialRetryMs: 50, maxRetryMs: 5_000 })
  })

  it('lets options passed in code win over the environment', () => {
    const options = resolveOfflineSinkOptions(parseConfig({ OFFLINE_SINK_BATCH_ROWS: '500', OFFLINE_SINK_BATCH_DELAY_MS: '250' }), { batchRows: 20 })
    expect(options).toMatchObject({ batchRows: 20, batchDelayMs: 250 })
  })

  it('names the variable, what was expected and the value when one is bad on its own', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ OFFLINE_SINK_BATCH_ROWS: 'ten' }, /OFFLINE_SINK_BATCH_ROWS: .*number.* \(got "ten"\)/u],
      [{ OFFLINE_SINK_BATCH_ROWS: '0' }, /OFFLINE_SINK_BATCH_ROWS: .*>=1.* \(got "0"\)/u],
      [{ OFFLINE_SINK_BATCH_DELAY_MS: '2.5' }, /OFFLINE_SINK_BATCH_DELAY_MS: .*int.* \(got "2.5"\)/u],
      [{ OFFLINE_SINK_MAX_PENDING_ROWS: '-1' }, /OFFLINE_SINK_MAX_PENDING_ROWS: .* \(got "-1"\)/u],
      [{ OFFLINE_SINK_MAX_RETRY_MS: 'soon' }, /OFFLINE_SINK_MAX_RETRY_MS: .* \(got "soon"\)/u],
    ]
    for (const [env, message] of cases) {
      const error = configError(env)
      expect(error.code).toBe('CONFIG_INVALID')
      expect(error.message).toMatch(message)
    }
  })

  it('names both variables when they only fail together, including one left at its default', () => {
    expect(() => resolveOfflineSinkOptions(parseConfig({ OFFLINE_SINK_BATCH_ROWS: '200000' }))).toThrow(
      /OFFLINE_SINK_MAX_PENDING_ROWS: must be at least OFFLINE_SINK_BATCH_ROWS \(unset: the default 100000\)/u,
    )
    expect(() => resolveOfflineSinkOptions(parseConfig({ OFFLINE_SINK_INITIAL_RETRY_MS: '500', OFFLINE_SINK_MAX_RETRY_MS: '100' }))).toThrow(
      /OFFLINE_SINK_MAX_RETRY_MS: must be at least OFFLINE_SINK_INITIAL_RETRY_MS \(got 100\)/u,
    )
    // A field passed in code is named as the field.
    expect(() => resolveOfflineSinkOptions(parseConfig({ OFFLINE_SINK_BATCH_ROWS: '200000' }), { maxPendingRows: 1_000 })).toThrow(
      /maxPendingRows: must be at least OFFLINE_SINK_BATCH_ROWS \(got 1000\)/u,
    )
  })

  it('fails the role at start, before it connects to anything, when the variables do not fit together', async () => {
    const role = offlineSinkRole()
    await expect(role.start(contextWith({ OFFLINE_SINK_BATCH_ROWS: '200000' }))).rejects.toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/OFFLINE_SINK_MAX_PENDING_ROWS: must be at least OFFLINE_SINK_BATCH_ROWS/u) as string }) as Error,
    )
  })
})
